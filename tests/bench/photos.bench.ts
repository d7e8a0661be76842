/**
 * `npm run bench:photos`: what an appeal photo costs, at upload and when it is served.
 *
 * 1. Upload: a 12-megapixel phone JPEG (4032×3024, textured like a photo so it does not compress
 *    to nothing) goes through the upload's own check: decoded, turned upright, scaled to 1,600
 *    pixels and re-encoded without metadata. Prints the bytes before and after, the time per
 *    photo and the process's peak memory.
 * 2. Serving: that photo is saved on an appeal in a fresh database, and the production build and
 *    server answer GET /photos/<id>.<hash>.jpg (the bytes from PostgreSQL) and the same GET with
 *    If-None-Match (304, no body), measured with autocannon one after the other.
 *
 * Environment: BENCH_PHOTO_RUNS (default 10), BENCH_PHOTO_CONNECTIONS (default 10),
 * BENCH_PHOTO_SECONDS (default 10), BENCH_PHOTO_WARMUP_SECONDS (default 3), BENCH_SKIP_BUILD
 * (use the build that is there), BENCH_DATABASE_URL (the PostgreSQL server).
 */
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import getPort from 'get-port'
import sharp from 'sharp'
import { positiveInteger } from './bench-env.ts'
import { buildForProduction, createCleanUp, createEmptyDatabase, seededProductionEnv, startAppServer } from './bench-server.ts'
import { checkPhoto } from '#app/modules/appeals/photos/upload.server.ts'
import { storePhoto } from '#app/modules/appeals/photos/storage.server.ts'
import { createDatabase, createPool } from '#app/utils/db.server.ts'

// autocannon ships no type declarations: type the part we use.
type Histogram = { p50: number; p99: number; total: number }
type AutocannonResult = { latency: Histogram; duration: number; errors: number; timeouts: number; statusCodeStats: Record<string, { count: number }>; throughput: Histogram }
type AutocannonOptions = { url: string; connections: number; duration: number; pipelining: number; timeout: number; headers: Record<string, string> }
/** The run is an event emitter as well as a promise: each response's time comes as an event. */
type AutocannonRun = Promise<AutocannonResult> & { on(event: 'response', listener: (client: unknown, status: number, bytes: number, milliseconds: number) => void): void }
const autocannon = createRequire(import.meta.url)('autocannon') as (options: AutocannonOptions) => AutocannonRun

const RUNS = positiveInteger('BENCH_PHOTO_RUNS', 10)
const CONNECTIONS = positiveInteger('BENCH_PHOTO_CONNECTIONS', 10)
const SECONDS = positiveInteger('BENCH_PHOTO_SECONDS', 10)
const WARMUP_SECONDS = positiveInteger('BENCH_PHOTO_WARMUP_SECONDS', 3)
const WIDTH = 4032
const HEIGHT = 3024

const log = (message: string) => process.stderr.write(`[bench:photos] ${message}\n`)
const { add: addCleanUp, interrupted, runBenchmark } = createCleanUp(log)

function texturedPixels() {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3)
  // A fixed sequence, so every run measures the same photo.
  let seed = 42
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return (seed / 2_147_483_648) * 30
  }
  for (let y = 0; y < HEIGHT; y += 1) {
    for (let x = 0; x < WIDTH; x += 1) {
      const at = (y * WIDTH + x) * 3
      const shade = (Math.sin(x / 37) + Math.cos(y / 23)) * 40 + noise()
      pixels[at] = 120 + shade
      pixels[at + 1] = 90 + shade / 2
      pixels[at + 2] = 60 + shade / 3
    }
  }
  return pixels
}

async function measureUpload(photo: Buffer) {
  // One run to load libvips before timing.
  await checkPhoto({ kind: 'file', bytes: photo })
  const times: number[] = []
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now()
    const { photo: checked, error } = await checkPhoto({ kind: 'file', bytes: photo })
    times.push(performance.now() - started)
    if (!checked) throw new Error(`The photo was refused: ${error}`)
  }
  times.sort((a, b) => a - b)
  const checked = (await checkPhoto({ kind: 'file', bytes: photo })).photo!
  console.log(`photo: ${WIDTH}×${HEIGHT} JPEG, ${(photo.length / 1_000_000).toFixed(2)} MB`)
  console.log(`stored: ${checked.width}×${checked.height}, ${(checked.bytes.byteLength / 1_000).toFixed(0)} kB (${((checked.bytes.byteLength / photo.length) * 100).toFixed(1)}% of the upload)`)
  console.log(`time per photo over ${RUNS} runs: median ${times[Math.floor(RUNS / 2)]!.toFixed(0)} ms, slowest ${times.at(-1)!.toFixed(0)} ms`)
  console.log(`peak resident memory: ${(process.resourceUsage().maxRSS / 1_000).toFixed(0)} MB`)
  return checked
}

/** Identical settings for both measurements; only the headers differ. */
async function load(url: string, seconds: number, headers: Record<string, string>, expected: number) {
  const run = autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1, timeout: 10, headers })
  // autocannon's histogram has p97.5 but no p95: kept from each response's own time instead.
  const times: number[] = []
  run.on('response', (_client, _status, _bytes, milliseconds) => times.push(milliseconds))
  const result = await run
  const answered = result.statusCodeStats[String(expected)]?.count ?? 0
  const total = Object.values(result.statusCodeStats).reduce((sum, { count }) => sum + count, 0)
  if (result.errors > 0 || result.timeouts > 0 || answered === 0 || answered !== total) {
    throw new Error(`${url}: ${answered} of ${total} answers ${expected}, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  times.sort((a, b) => a - b)
  return { result, answered, p95: times[Math.floor(times.length * 0.95)]! }
}

async function measureServing(label: string, url: string, headers: Record<string, string>, expected: number) {
  if (interrupted()) throw new Error('Interrupted')
  log(`${label}: warm-up ${WARMUP_SECONDS} s, then ${SECONDS} s with ${CONNECTIONS} connections`)
  await load(url, WARMUP_SECONDS, headers, expected)
  const { result, answered, p95 } = await load(url, SECONDS, headers, expected)
  return { label, 'req/s': (answered / result.duration).toFixed(0), 'p50 (ms)': result.latency.p50, 'p95 (ms)': p95.toFixed(2), 'p99 (ms)': result.latency.p99, 'bytes/response': Math.round(result.throughput.total / answered) }
}

async function main() {
  const photo = await sharp(texturedPixels(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).jpeg({ quality: 92 }).toBuffer()
  const checked = await measureUpload(photo)

  log(process.env.BENCH_SKIP_BUILD ? 'BENCH_SKIP_BUILD is set: using the existing build' : 'building for production (npx remix build)')
  const built = await buildForProduction()
  const database = await createEmptyDatabase('photos')
  addCleanUp(`drop ${database.name}`, () => database.drop())

  const port = await getPort({ host: '127.0.0.1' })
  log(`starting the production server on port ${port} with database ${database.name}`)
  const server = await startAppServer({
    port,
    env: seededProductionEnv(database.url, port),
  })
  addCleanUp('stop the production server (SIGTERM)', () => server.stop())

  // The photo on a demo appeal, stored as an upload stores it.
  const db = createDatabase(createPool(database.url, 2))
  addCleanUp('close the bench connection', () => db.destroy())
  const path = await db.transaction().execute(async (trx) => {
    const stored = await storePhoto(trx, checked)
    await trx.updateTable('appeals').set({ photo_id: stored.id, photo_path: stored.path, photo_alt: 'A photo' }).where('slug', '=', 'walk-again-yusuf').execute()
    return stored.path
  })
  const url = `${server.baseUrl}${path}`
  const first = await fetch(url)
  const etag = first.headers.get('ETag')
  if (first.status !== 200 || !etag || (await first.arrayBuffer()).byteLength !== checked.bytes.byteLength) throw new Error(`GET ${path} answered ${first.status}`)

  const rows = [await measureServing('GET (200, the bytes)', url, {}, 200), await measureServing('GET If-None-Match (304)', url, { 'If-None-Match': etag }, 304)]
  console.log(
    `\nServing one ${(checked.bytes.byteLength / 1_000).toFixed(0)} kB photo from PostgreSQL through the production build (${built === 'built' ? 'built now' : 'existing build, BENCH_SKIP_BUILD'}); ` +
      `autocannon ${CONNECTIONS} connections, ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up, one after the other`,
  )
  console.table(rows)
}

await runBenchmark('bench:photos', main)
