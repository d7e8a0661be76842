/**
 * `npm run bench:pages`: requests per second for an appeal page from the production build and
 * server, beside a bare `node:http` server sending the same bytes with the same content type.
 * The two are measured one after the other with identical autocannon settings (never at once:
 * the machine has two cores), each after its own warm-up.
 *
 * Environment: BENCH_PAGES_CONNECTIONS (default 10), BENCH_PAGES_SECONDS (default 10),
 * BENCH_PAGES_WARMUP_SECONDS (default 3), BENCH_PAGES_PATH (default /appeals/walk-again-yusuf),
 * BENCH_SKIP_BUILD (use the build that is there), BENCH_DATABASE_URL (the PostgreSQL server).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { createRequire } from 'node:module'
import getPort from 'get-port'
import { buildForProduction, createCleanUp, createEmptyDatabase, seededProductionEnv, startAppServer, type RunningServer } from './bench-server.ts'
import { positiveInteger } from './bench-env.ts'

// autocannon ships no type declarations (and @types/autocannon is not installed): type the part we use.
type AutocannonOptions = { url: string; connections: number; duration: number; pipelining: number; timeout: number; headers: Record<string, string> }
type Histogram = { average: number; mean: number; p50: number; p90: number; p99: number; max: number; total: number }
type AutocannonResult = {
  latency: Histogram
  requests: Histogram & { sent: number }
  throughput: Histogram
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>

const CONNECTIONS = positiveInteger('BENCH_PAGES_CONNECTIONS', 10)
const SECONDS = positiveInteger('BENCH_PAGES_SECONDS', 10)
const WARMUP_SECONDS = positiveInteger('BENCH_PAGES_WARMUP_SECONDS', 3)
const PAGE_PATH = process.env.BENCH_PAGES_PATH || '/appeals/walk-again-yusuf'
const FALLBACK_PATH = '/appeals'
const TARGET_RATIO = 0.5

const log = (message: string) => process.stderr.write(`[bench:pages] ${message}\n`)

const { add: addCleanUp, interrupted, runBenchmark } = createCleanUp(log)

/** One plain GET, as autocannon sends it (no Accept-Encoding, so no gzip): status, headers, body bytes. */
function getOnce(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }))
      response.on('error', reject)
    })
    request.on('error', reject)
  })
}

/** The bare server runs in its own process, as the app does, so it does not share autocannon's thread. */
const BARE_SERVER = `
const http = require('node:http')
// Never outlive the benchmark, however it ends.
process.once('disconnect', () => process.exit(0))
process.once('message', ({ body, contentType }) => {
  const bytes = Buffer.from(body, 'base64')
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length })
    response.end(bytes)
  })
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
})
`

async function startBareServer(body: Buffer, contentType: string): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(force)
  }
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { port: number }) => resolve(message.port))
      child.once('exit', (code) => reject(new Error(`The bare server exited with code ${code}`)))
      child.send({ body: body.toString('base64'), contentType })
    })
    return { baseUrl: `http://127.0.0.1:${port}`, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Identical settings for both servers: only the URL differs. */
async function load(url: string, seconds: number): Promise<AutocannonResult> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1, timeout: 10, headers: {} })
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || result['2xx'] === 0) {
    throw new Error(`${url}: ${result['2xx']} answers 2xx, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return result
}

async function measure(label: string, url: string) {
  if (interrupted()) throw new Error('Interrupted')
  log(`${label}: warm-up ${WARMUP_SECONDS} s, then ${SECONDS} s with ${CONNECTIONS} connections`)
  await load(url, WARMUP_SECONDS)
  const result = await load(url, SECONDS)
  const requestsPerSecond = result['2xx'] / result.duration
  return { result, requestsPerSecond, bytesPerResponse: result.throughput.total / result['2xx'] }
}

async function main() {
  log(process.env.BENCH_SKIP_BUILD ? 'BENCH_SKIP_BUILD is set: using the existing build' : 'building for production (npm run build)')
  const built = await buildForProduction()

  const database = await createEmptyDatabase('pages')
  addCleanUp(`drop ${database.name}`, () => database.drop())

  const port = await getPort({ host: '127.0.0.1' })
  log(`starting the production server on port ${port} with database ${database.name}`)
  const server: RunningServer = await startAppServer({
    port,
    env: seededProductionEnv(database.url, port),
  })
  addCleanUp('stop the production server (SIGTERM)', () => server.stop())

  let path = PAGE_PATH
  let note = ''
  let page = await getOnce(`${server.baseUrl}${path}`)
  if (page.status === 404 && path !== FALLBACK_PATH) {
    note = `${path} answered 404 (the route is not in this build yet), so ${FALLBACK_PATH} was measured instead`
    log(`NOTE: ${note}`)
    path = FALLBACK_PATH
    page = await getOnce(`${server.baseUrl}${path}`)
  }
  if (page.status !== 200) throw new Error(`GET ${path} answered ${page.status}:\n${page.body.toString().slice(0, 2000)}\n${server.output()}`)
  const contentType = String(page.headers['content-type'] ?? 'application/octet-stream')

  const app = await measure(`app ${path}`, `${server.baseUrl}${path}`)

  if (interrupted()) throw new Error('Interrupted')
  const bare = await startBareServer(page.body, contentType)
  addCleanUp('stop the bare server', () => bare.stop())
  const check = await getOnce(`${bare.baseUrl}${path}`)
  if (!check.body.equals(page.body) || check.headers['content-type'] !== contentType) throw new Error('The bare server does not send the same bytes')
  const baseline = await measure('bare node:http', `${bare.baseUrl}${path}`)

  const ratio = app.requestsPerSecond / baseline.requestsPerSecond
  console.log(
    `\nPage throughput: production build (${built === 'built' ? 'built now' : 'existing build, BENCH_SKIP_BUILD'}) vs a bare node:http server sending the same bytes; ` +
      `autocannon ${CONNECTIONS} connections, ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up, one after the other`,
  )
  if (note) console.log(`NOTE: ${note}`)
  console.table([
    { measure: 'path', app: path, bare: path },
    { measure: 'content-type', app: contentType, bare: contentType },
    { measure: 'body bytes per response', app: page.body.length, bare: page.body.length },
    { measure: 'bytes read per response (with headers)', app: Math.round(app.bytesPerResponse), bare: Math.round(baseline.bytesPerResponse) },
    { measure: 'requests (2xx)', app: app.result['2xx'], bare: baseline.result['2xx'] },
    { measure: 'req/s', app: app.requestsPerSecond.toFixed(1), bare: baseline.requestsPerSecond.toFixed(1) },
    { measure: 'latency p50 (ms)', app: app.result.latency.p50, bare: baseline.result.latency.p50 },
    { measure: 'latency p99 (ms)', app: app.result.latency.p99, bare: baseline.result.latency.p99 },
  ])
  console.log(`Ratio app req/s ÷ bare req/s = ${ratio.toFixed(3)} (target: at least ${TARGET_RATIO}) — ${ratio >= TARGET_RATIO ? 'target met' : 'BELOW TARGET'}`)
}

await runBenchmark('bench:pages', main)
