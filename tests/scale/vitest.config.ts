import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('../..', import.meta.url))

export default defineConfig({
  root,
  test: {
    include: ['tests/scale/**/*.test.ts'],
    globalSetup: ['tests/scale/build.ts'],
    // Each file starts its own servers and worker on two cores: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    env: { LOG_LEVEL: 'silent' },
  },
})
