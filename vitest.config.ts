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
    // `npm run coverage`: how much of the pure core its own unit tests reach (not what the
    // integration tests happen to run through), with a floor a little under today's figures.
    coverage: {
      provider: 'v8',
      include: ['src/core/**/*.ts'],
      reporter: ['text-summary', 'html'],
      reportsDirectory: 'coverage',
      thresholds: { statements: 91, branches: 79, functions: 91, lines: 94 },
    },
  },
});
