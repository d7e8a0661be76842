import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('..', import.meta.url))

export default defineConfig({
  root,
  test: {
    include: ['tests/unit/**/*.test.{ts,tsx}', 'tests/integration/**/*.test.{ts,tsx}'],
    globalSetup: ['tests/setup/global-database.ts'],
    setupFiles: ['tests/setup/test-database.ts', 'tests/setup/network.ts'],
    pool: 'forks',
    // Two cores: each worker runs its own database (PGlite in-process, or a PostgreSQL database).
    maxWorkers: 2,
    // Memory tests measure live objects, after a collection, not garbage waiting for one.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test', LOG_LEVEL: 'silent' },
  },
})
