import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Crash tests spawn CLI processes and an emulator; two cores are all we have.
    maxWorkers: 2,
  },
});
