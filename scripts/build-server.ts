/**
 * The second half of `npm run build`, after `remix build`: compiles the web server, the worker and
 * the command-line scripts into plain JavaScript in build/server/, so that production runs
 * `node build/server/index.js` without tsx or TypeScript (docs/decisions/016-compiled-server.md).
 *
 * Our own code (app/, db/, emails/, scripts/, reached through relative and #app/#db/#emails/#scripts
 * imports) is bundled into each file; every package stays external and is imported from
 * node_modules at run time, as in the Remix build. The server still loads that build from
 * build/index.js at run time. A package imported here must be a dependency, not a dev dependency,
 * since production installs only those: the build fails otherwise.
 */
import { readFile, rm } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type BuildOptions, type Metafile } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))

export const SERVER_OUT_DIR = 'build/server'

/** Each compiled program: build/server/<name>.js from its source. */
export const SERVER_ENTRIES = {
  index: 'app/server/index.ts',
  worker: 'app/worker/index.ts',
  migrate: 'scripts/migrate.ts',
  seed: 'scripts/seed.ts',
  'staff-create': 'scripts/staff-create.ts',
  'import-uploads': 'scripts/import-uploads.ts',
} as const

/** The path, from the project's root, of a compiled program. */
export function compiled(name: keyof typeof SERVER_ENTRIES) {
  return `${SERVER_OUT_DIR}/${name}.js`
}

/** How our TypeScript becomes Node's JavaScript; tests/scale/build.ts compiles its test hook the same way. */
export const NODE_BUNDLE_OPTIONS = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  jsx: 'automatic',
  // As tsx does: functions and classes keep their names where bundling renames them.
  keepNames: true,
  logLevel: 'warning',
} satisfies BuildOptions

/** The package an import names (`@scope/name` or `name`), or undefined for Node's own modules. */
function packageOf(specifier: string) {
  if (isBuiltin(specifier)) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** Fails when the output imports anything production will not have installed. */
async function checkExternalImports(metafile: Metafile) {
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const missing = new Set<string>()
  for (const [file, output] of Object.entries(metafile.outputs)) {
    for (const { path: specifier, external } of output.imports) {
      const name = external ? packageOf(specifier) : undefined
      if (name !== undefined && !(name in manifest.dependencies)) missing.add(`${name} (imported by ${file})`)
    }
  }
  if (missing.size > 0) throw new Error(`Not in package.json "dependencies", so not installed in production: ${[...missing].join(', ')}`)
}

export async function buildServer() {
  const outdir = path.join(root, SERVER_OUT_DIR)
  await rm(outdir, { recursive: true, force: true })
  const started = performance.now()
  const result = await build({ ...NODE_BUNDLE_OPTIONS, entryPoints: SERVER_ENTRIES, outdir, metafile: true })
  await checkExternalImports(result.metafile)
  const files = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'))
  const kB = (bytes: number) => `${Math.round(bytes / 1000)} kB`
  console.log(
    `Compiled ${files.map(([file, output]) => `${path.basename(file)} (${kB(output.bytes)})`).join(', ')} into ${SERVER_OUT_DIR}/ in ${Math.round(performance.now() - started)} ms`,
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildServer()
