import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabLayout } from './lab-layout.ts';
import type { UnixUser } from './lab-users.ts';
import { BACKEND_SCRIPT, PHP_SCRIPTS } from './render-configs.ts';

/**
 * Directories and files with the modes that let the login user read every log and config, and
 * run `nginx -T -c <conf>` without root (nginx opens its logs for appending even when testing).
 */
export async function prepareTree(l: LabLayout, login: UnixUser): Promise<void> {
  const dirs: [string, number, boolean][] = [
    [l.dir, 0o755, false],
    [l.nginxPrefix, 0o755, false],
    [l.nginxTempDir, 0o755, false],
    [l.runDir, 0o755, false],
    [l.logDir, 0o750, true],
    [join(l.logDir, 'nginx'), 0o750, true],
    [join(l.dir, 'php'), 0o750, true],
    [l.fpmPoolDir, 0o750, true],
    [l.docroot, 0o755, false],
    [join(l.dir, 'backend'), 0o755, false],
  ];
  for (const [path, mode, group] of dirs) {
    await mkdir(path, { recursive: true });
    await chmod(path, mode);
    await chown(path, 0, group ? login.gid : 0);
  }
  for (const [path, mode] of [
    [l.nginxErrorLog, 0o660],
    [l.nginxAccessLog, 0o660],
    [l.shopErrorLog, 0o660],
    [l.shopAccessLog, 0o660],
    [l.fpmLog, 0o640],
    [l.fpmSlowlog, 0o640],
    [l.kernelLog, 0o640],
    [l.backendLog, 0o640],
  ] as const) {
    await writeFile(path, '', { flag: 'a' });
    await chmod(path, mode);
    await chown(path, 0, login.gid);
  }
  for (const [name, text] of Object.entries(PHP_SCRIPTS)) await writeFile(join(l.docroot, name), text, { mode: 0o644 });
  await writeFile(l.backendScript, BACKEND_SCRIPT, { mode: 0o644 });
  // Configs are rewritten by every scenario; create them now so that their group and mode stick.
  for (const path of [l.nginxConf, l.fpmConf, l.fpmPoolConf]) {
    await writeFile(path, '', { flag: 'a' });
    await chmod(path, 0o640);
    await chown(path, 0, login.gid);
  }
}
