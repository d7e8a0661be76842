/**
 * `npm run bench:body-limits`: what 20 clients sending 200 MB bodies at once to the public forms do
 * to the production server. Builds for production, starts the server on its own database (demo
 * data, as production: no worker in the process), lets it settle, then for BENCH_BODY_SECONDS
 * (default 15) keeps BENCH_BODY_CLIENTS (default 20) connections each sending a 200 MB body as fast
 * as the server takes it (half with a declared Content-Length, half chunked), to the appeal and
 * event forms and /saved; each starts again as soon as the server has answered and closed. Meanwhile
 * /healthz is asked every 50 ms, and the server's resident memory (VmRSS) read every 100 ms.
 * Passes when the memory grew less than 50 MB over its settled size and /healthz's p95 stayed under
 * 100 ms; prints the figures either way.
 *
 * Environment: BENCH_BODY_CLIENTS, BENCH_BODY_SECONDS, BENCH_BODY_MB (default 200);
 * BENCH_SKIP_BUILD (use the build that is there); BENCH_DATABASE_URL (the PostgreSQL server).
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import getPort from 'get-port'
import { buildForProduction, createCleanUp, createEmptyDatabase, seededProductionEnv, startAppServer } from './bench-server.ts'
import { positiveInteger } from './bench-env.ts'

const CLIENTS = positiveInteger('BENCH_BODY_CLIENTS', 20)
const SECONDS = positiveInteger('BENCH_BODY_SECONDS', 15)
const BODY_BYTES = positiveInteger('BENCH_BODY_MB', 200) * 1024 * 1024
const MAX_RSS_GROWTH_MB = 50
const MAX_HEALTHZ_P95_MS = 100
const PATHS = ['/appeals/walk-again-yusuf', '/events/online-briefing-enforced-disappearances', '/saved']

const log = (message: string) => process.stderr.write(`[bench:body-limits] ${message}\n`)
const { add: addCleanUp, runBenchmark } = createCleanUp(log)

async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return (Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024) / 1_000_000
}

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

const CHUNK = Buffer.alloc(64 * 1024, 'a')

/** Asks /healthz every 50 ms until the deadline; prints each time in ms (-1 for a failure) as JSON. */
const PROBE = `
const [url, until] = process.argv.slice(1)
const times = []
while (Date.now() < Number(until)) {
  const started = performance.now()
  const ok = await fetch(url).then(async (r) => { await r.arrayBuffer(); return r.ok }, () => false)
  times.push(ok ? performance.now() - started : -1)
  await new Promise((resolve) => setTimeout(resolve, 50))
}
process.stdout.write(JSON.stringify(times))
`

/**
 * One attacking connection: the head, then body bytes as fast as the socket takes them, until
 * BODY_BYTES are sent or the server answers and closes. Resolves with the status and bytes sent.
 */
function attack(port: number, path: string, chunked: boolean): Promise<{ status: number; sent: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let sent = 0
    let answer = ''
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), sent })
    }
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n\r\n')) finish()
    })
    socket.on('error', finish)
    socket.on('close', finish)
    const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${BODY_BYTES}`
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n${length}\r\n\r\n`)
    const pump = () => {
      while (!done && sent < BODY_BYTES) {
        const piece = chunked ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]) : CHUNK
        sent += CHUNK.length
        if (!socket.write(piece)) return void socket.once('drain', pump)
      }
      if (!done && chunked) socket.write('0\r\n\r\n')
    }
    pump()
  })
}

async function main() {
  log(process.env.BENCH_SKIP_BUILD ? 'BENCH_SKIP_BUILD is set: using the existing build' : 'building for production (npm run build)')
  await buildForProduction()
  const database = await createEmptyDatabase('bodylimits')
  addCleanUp(`drop ${database.name}`, () => database.drop())
  const port = await getPort({ host: '127.0.0.1' })
  const server = await startAppServer({ port, env: seededProductionEnv(database.url, port) })
  addCleanUp('stop the server', () => server.stop())
  const pid = server.process.pid!

  // Settle: the pages rendered once, then a few seconds of quiet.
  for (const path of [...PATHS, '/healthz']) await fetch(`${server.baseUrl}${path}`).then((response) => response.arrayBuffer())
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const settledMb = await residentMb(pid)
  log(`settled at ${settledMb.toFixed(1)} MB; ${CLIENTS} clients sending ${BODY_BYTES / 1024 / 1024} MB bodies for ${SECONDS} s`)

  const until = Date.now() + SECONDS * 1000
  let peakMb = settledMb
  const statuses = new Map<number, number>()
  let bytesSent = 0
  let attacks = 0
  const memory = setInterval(() => void residentMb(pid).then((mb) => (peakMb = Math.max(peakMb, mb)), () => undefined), 100)
  // The probe runs in a process of its own: in this one, the attackers' writing would delay it.
  const probe = new Promise<number[]>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PROBE, `${server.baseUrl}/healthz`, String(until)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk))
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`the /healthz probe exited with ${code}`))))
  })
  const attackers = Array.from({ length: CLIENTS }, async (_, index) => {
    while (Date.now() < until) {
      const result = await attack(port, PATHS[index % PATHS.length]!, index % 2 === 1)
      attacks += 1
      bytesSent += result.sent
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1)
    }
  })
  const [healthz] = await Promise.all([probe, ...attackers])
  clearInterval(memory)
  const healthzFailures = healthz.filter((ms) => ms < 0).length
  peakMb = Math.max(peakMb, await residentMb(pid))

  const growthMb = peakMb - settledMb
  const p95 = percentile(healthz.map((ms) => (ms < 0 ? Infinity : ms)), 95)
  console.log(`\nbench:body-limits: ${CLIENTS} clients, ${BODY_BYTES / 1024 / 1024} MB bodies (half Content-Length, half chunked), ${SECONDS} s`)
  console.log(`  attacks answered: ${attacks} (${[...statuses].map(([status, count]) => `${status || 'closed'}: ${count}`).join(', ')}); bytes the clients got onto the wire: ${(bytesSent / 1e6).toFixed(1)} MB`)
  console.log(`  server RSS: settled ${settledMb.toFixed(1)} MB, peak ${peakMb.toFixed(1)} MB, growth ${growthMb.toFixed(1)} MB (limit ${MAX_RSS_GROWTH_MB})`)
  console.log(`  /healthz during the attack: ${healthz.length} requests, ${healthzFailures} failed, p50 ${percentile(healthz.filter((ms) => ms >= 0), 50).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...healthz).toFixed(1)} ms (limit p95 ${MAX_HEALTHZ_P95_MS})`)
  const problems = [
    growthMb >= MAX_RSS_GROWTH_MB ? `memory grew ${growthMb.toFixed(1)} MB` : null,
    !(p95 < MAX_HEALTHZ_P95_MS) ? `/healthz p95 was ${p95.toFixed(1)} ms` : null,
    healthzFailures > 0 ? `${healthzFailures} /healthz requests failed` : null,
  ].filter(Boolean)
  if (problems.length > 0) throw new Error(problems.join('; '))
  console.log('  PASS')
}

await runBenchmark('bench:body-limits', main)
