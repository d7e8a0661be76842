import { spawnSync } from 'node:child_process'

/** The servers under test run the production build: make it first (SCALE_SKIP_BUILD=1 reuses one). */
export default function build() {
  if (process.env.SCALE_SKIP_BUILD) return
  // Vitest sets NODE_ENV=test; the build must be a production one to match the servers.
  const result = spawnSync('npx', ['remix', 'build'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } })
  if (result.status !== 0) throw new Error('The production build failed')
}
