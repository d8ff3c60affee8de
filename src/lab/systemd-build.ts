/**
 * Builds the systemd lab host's Debian tree into the cache (if it is not there yet) and exits.
 * The test run's global setup starts it in the background, so that the ~4 minutes of
 * debootstrap overlap with other test files.
 */
import { ensureDebianTree } from './systemd-host.ts';
import { errorMessage } from '../errors.ts';

try {
  const tree = await ensureDebianTree(undefined, (l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`the Debian tree is ready: ${tree}\n`);
} catch (e) {
  process.stderr.write(`systemd lab: ${errorMessage(e)}\n`);
  process.exitCode = 1;
}
