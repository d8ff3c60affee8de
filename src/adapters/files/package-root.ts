import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding gateway-medic's package.json, found upward from `from`. The same whether
 * the code runs from the sources (src/…) or from the precompiled command line (dist/cli/…),
 * whose modules sit at other depths: files shipped with the package (playbooks/) are found
 * from here, never by a path relative to one module.
 */
export function packageRoot(from: string = import.meta.url): string {
  const start = dirname(fileURLToPath(from));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'gateway-medic') return dir;
    if (dirname(dir) === dir) throw new Error(`gateway-medic's package.json is in no folder above ${start}`);
  }
}
