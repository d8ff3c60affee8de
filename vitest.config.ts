import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the systemd lab host's Debian tree in the background when it is not cached yet.
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start real servers (sshd, nginx, php-fpm, redis); give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
