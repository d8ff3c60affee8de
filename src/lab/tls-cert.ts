import { execFile } from 'node:child_process';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { LabLayout } from './lab-layout.ts';
import { SHOP_NAME } from './scenarios.ts';

const run = promisify(execFile);

/**
 * A self-signed certificate for the shop vhost, made with Debian's openssl when the lab starts
 * (a P-256 key: quick to make). The key is readable by the login user's group because
 * `nginx -T`, which the bot runs without root here, loads every certificate and key it tests.
 */
export async function makeShopCertificate(l: LabLayout, group: number): Promise<void> {
  await mkdir(dirname(l.tlsCert), { recursive: true, mode: 0o750 });
  await chown(dirname(l.tlsCert), 0, group);
  await run(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '7',
      '-subj',
      `/CN=${SHOP_NAME}`,
      '-addext',
      `subjectAltName=DNS:${SHOP_NAME}`,
      '-keyout',
      l.tlsKey,
      '-out',
      l.tlsCert,
    ],
    { timeout: 30_000 },
  );
  for (const path of [l.tlsKey, l.tlsCert]) {
    await chmod(path, 0o640);
    await chown(path, 0, group);
  }
}
