import { spawnSync } from 'node:child_process'
import { build as esbuild } from 'esbuild'
import { NODE_BUNDLE_OPTIONS } from '#scripts/build-server.ts'

/** far-end-redirect.ts compiled, for `node --import` in each process under test. */
export const FAR_END_REDIRECT = '.cache/scale/far-end-redirect.js'

/**
 * The servers under test run the production build, as production does: `npm run build` first
 * (SCALE_SKIP_BUILD=1 reuses one). Their test hook is compiled the same way, so that no process
 * under test loads tsx.
 */
export default async function build() {
  if (!process.env.SCALE_SKIP_BUILD) {
    // Vitest sets NODE_ENV=test; the build must be a production one to match the servers.
    const result = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } })
    if (result.status !== 0) throw new Error('The production build failed')
  }
  await esbuild({ ...NODE_BUNDLE_OPTIONS, entryPoints: ['tests/scale/far-end-redirect.ts'], outfile: FAR_END_REDIRECT })
}
