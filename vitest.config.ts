import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-node tests spawn processes; two cores do not gain from more parallel files.
    maxWorkers: 2,
    pool: 'forks',
  },
})
