import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const root = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The attacker suite: requests no browser sends but anyone can, against the production build
 * started as if behind a TLS load balancer (tests/security/setup/behind-proxy.ts). `npm run
 * test:security`; CI runs it after the e2e tests, on their build (E2E_SKIP_BUILD=1).
 */
export default defineConfig({
  root,
  test: {
    include: ['tests/security/**/*.security.ts'],
    globalSetup: ['tests/security/setup/behind-proxy.ts'],
    // One server under attack and two cores: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
})
