/**
 * `npm run bench:body-limits`: what 20 clients sending 200 MB bodies at once to the public forms do
 * to the production server. Builds for production, starts the server on its own database (demo
 * data, as production: no worker in the process), lets it settle, then for BENCH_BODY_SECONDS
 * (default 15) keeps BENCH_BODY_CLIENTS (default 20) connections each sending a 200 MB body as fast
 * as the server takes it (half with a declared Content-Length, half chunked), to the appeal and
 * event forms and /saved; each starts again as soon as it has read the answer (or the connection
 * ended). Meanwhile /healthz is asked every 50 ms, and the server's resident memory (VmRSS) read
 * every 100 ms. Passes when the memory grew less than 50 MB over its settled size and /healthz's
 * p95 stayed under 100 ms; prints the figures either way, with the CPU each process used.
 *
 * The attackers run in a process of their own at a lower priority (nice BENCH_BODY_ATTACKER_NICE,
 * default 10): on a real server they are on other machines, and on this two-core one, at equal
 * priority, their writing takes the server's CPU and /healthz then measures the bench, not the
 * server. BENCH_BODY_ATTACKER_NICE=0 measures that too.
 *
 * Environment: BENCH_BODY_CLIENTS, BENCH_BODY_SECONDS, BENCH_BODY_MB (default 200),
 * BENCH_BODY_ATTACKER_NICE (0-19, default 10); BENCH_SERVER_NODE_ARGS (Node options for the server,
 * such as --trace-gc); BENCH_SKIP_BUILD (use the build that is there);
 * BENCH_DATABASE_URL (the PostgreSQL server).
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import getPort from 'get-port'
import { buildForProduction, createCleanUp, createEmptyDatabase, PRODUCTION_SERVER_ARGS, seededProductionEnv, startAppServer } from './bench-server.ts'
import { positiveInteger } from './bench-env.ts'
import { sendBody } from '#tests/security/body-sender.ts'

const CLIENTS = positiveInteger('BENCH_BODY_CLIENTS', 20)
const SECONDS = positiveInteger('BENCH_BODY_SECONDS', 15)
const BODY_BYTES = positiveInteger('BENCH_BODY_MB', 200) * 1024 * 1024
const ATTACKER_NICE = Math.min(19, Number(process.env.BENCH_BODY_ATTACKER_NICE ?? 10) || 0)
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
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

/** Bytes a process has read through system calls so far (sockets included), from /proc/<pid>/io. */
async function bytesRead(pid: number): Promise<number> {
  return Number(/^rchar: (\d+)$/m.exec(await readFile(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN)
}

/** Seconds of CPU (user + system) a process has used so far, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name; in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

// Written again and again: the attackers must cost as little CPU as a socket write can.
const CHUNK = Buffer.alloc(64 * 1024, 'a')
const CHUNK_FRAMED = Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')])

/**
 * Loaded into the server before its own code (`--import`), for this benchmark only: its event
 * loop's delay, printed and started afresh on SIGUSR2, tells a server that is blocked from one
 * that is waiting for a CPU the attackers (or other processes) hold.
 */
const EVENT_LOOP_PROBE = `
import { monitorEventLoopDelay } from 'node:perf_hooks'
import v8 from 'node:v8'
const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()
// The largest of each part of the memory since the last report, to tell what an RSS peak was made of.
let peak = {}
setInterval(() => {
  const usage = process.memoryUsage()
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
  const now = { heapTotal: usage.heapTotal, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers, newSpace: newSpace ? newSpace.space_size : 0 }
  for (const [name, value] of Object.entries(now)) peak[name] = Math.max(peak[name] ?? 0, value)
}, 50).unref()
process.on('SIGUSR2', () => {
  const ms = (ns) => Math.round(ns / 1e4) / 100
  const mb = Object.fromEntries(Object.entries(peak).map(([name, value]) => [name, Math.round(value / 1e5) / 10]))
  process.stdout.write('[event-loop] ' + JSON.stringify({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), peakMb: mb }) + '\\n')
  delay.reset()
  peak = {}
})
`

/** The event loop's delay since the last call (see EVENT_LOOP_PROBE), in ms. */
async function eventLoopDelay(server: { process: { kill: (signal: NodeJS.Signals) => boolean }; output: () => string }) {
  const before = server.output().length
  server.process.kill('SIGUSR2')
  for (let tries = 0; tries < 50; tries += 1) {
    const line = /\[event-loop\] (\{.*\})/.exec(server.output().slice(before))?.[1]
    if (line) return JSON.parse(line) as { p50: number; p99: number; max: number; peakMb: Record<string, number> }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return null
}

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
 * BODY_BYTES are sent or the server answers. Resolves with the status (0: none, the connection was
 * reset first) and the bytes sent.
 */
async function attack(port: number, path: string, chunked: boolean): Promise<{ status: number; sent: number }> {
  const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${BODY_BYTES}`
  const { answer, sent } = await sendBody({
    port,
    host: '127.0.0.1',
    head: `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n${length}\r\n\r\n`,
    piece: chunked ? CHUNK_FRAMED : CHUNK,
    maxBytes: BODY_BYTES,
    untilAnswered: true,
    last: chunked ? '0\r\n\r\n' : undefined,
  })
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), sent }
}

async function main() {
  log(process.env.BENCH_SKIP_BUILD ? 'BENCH_SKIP_BUILD is set: using the existing build' : 'building for production (npm run build)')
  await buildForProduction()
  const database = await createEmptyDatabase('bodylimits')
  addCleanUp(`drop ${database.name}`, () => database.drop())
  const port = await getPort({ host: '127.0.0.1' })
  const server = await startAppServer({
    port,
    env: seededProductionEnv(database.url, port),
    nodeArgs: [...SERVER_NODE_ARGS, '--import', `data:text/javascript,${encodeURIComponent(EVENT_LOOP_PROBE)}`, ...PRODUCTION_SERVER_ARGS],
  })
  addCleanUp('stop the server', () => server.stop())
  const pid = server.process.pid!

  // Settle: the pages rendered once, then a few seconds of quiet.
  for (const path of [...PATHS, '/healthz']) await fetch(`${server.baseUrl}${path}`).then((response) => response.arrayBuffer())
  await eventLoopDelay(server)
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const settledMb = await residentMb(pid)
  const loadBefore = os.loadavg().map((load) => load.toFixed(2)).join(' ')
  log(`load average ${loadBefore}; settled at ${settledMb.toFixed(1)} MB; ${CLIENTS} clients sending ${BODY_BYTES / 1024 / 1024} MB bodies for ${SECONDS} s`)

  const until = Date.now() + SECONDS * 1000
  let peakMb = settledMb
  const memory = setInterval(() => void residentMb(pid).then((mb) => (peakMb = Math.max(peakMb, mb)), () => undefined), 100)
  const serverCpuBefore = await cpuSeconds(pid)
  const serverReadBefore = await bytesRead(pid)
  const settledLoop = await eventLoopDelay(server)
  // The probe runs in a process of its own: in this one, the attackers' writing would delay it.
  const probe = new Promise<number[]>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PROBE, `${server.baseUrl}/healthz`, String(until)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk))
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`the /healthz probe exited with ${code}`))))
  })
  // The attackers too, at a lower priority (see the top of this file); this same file, as its attacker.
  const attackerCpu = { seconds: 0 }
  const attackers = new Promise<AttackReport>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_BODY_ROLE: 'attacker', BENCH_BODY_PORT: String(port), BENCH_BODY_UNTIL: String(until) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (ATTACKER_NICE > 0) os.setPriority(child.pid!, ATTACKER_NICE)
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk))
    const cpu = setInterval(() => void cpuSeconds(child.pid!).then((seconds) => (attackerCpu.seconds = seconds), () => undefined), 500)
    child.on('close', (code) => {
      clearInterval(cpu)
      if (code === 0) resolve(JSON.parse(out) as AttackReport)
      else reject(new Error(`the attackers exited with ${code}`))
    })
  })
  const [healthz, { attacks, bytesSent, statuses }] = await Promise.all([probe, attackers])
  clearInterval(memory)
  const serverCpu = (await cpuSeconds(pid)) - serverCpuBefore
  const serverRead = (await bytesRead(pid)) - serverReadBefore
  const attackLoop = await eventLoopDelay(server)
  const healthzFailures = healthz.filter((ms) => ms < 0).length
  peakMb = Math.max(peakMb, await residentMb(pid))

  const growthMb = peakMb - settledMb
  const p95 = percentile(healthz.map((ms) => (ms < 0 ? Infinity : ms)), 95)
  console.log(`\nbench:body-limits: ${CLIENTS} clients, ${BODY_BYTES / 1024 / 1024} MB bodies (half Content-Length, half chunked), ${SECONDS} s`)
  console.log(`  attacks answered: ${attacks} (${statuses.map(([status, count]) => `${status || 'reset before a status'}: ${count}`).join(', ')}); bytes the clients got onto the wire: ${(bytesSent / 1e6).toFixed(1)} MB, of which the server read ${(serverRead / 1e6).toFixed(1)} MB`)
  console.log(`  CPU used during the attack: server ${serverCpu.toFixed(1)} s, attackers ${attackerCpu.seconds.toFixed(1)} s (nice ${ATTACKER_NICE}), over ${SECONDS} s on ${os.cpus().length} cores; load average before ${loadBefore}`)
  const loopText = (loop: Awaited<ReturnType<typeof eventLoopDelay>>) => (loop ? `p50 ${loop.p50} ms, p99 ${loop.p99} ms, max ${loop.max} ms` : 'not read')
  const heapText = (loop: Awaited<ReturnType<typeof eventLoopDelay>>) =>
    loop ? Object.entries(loop.peakMb).map(([name, mb]) => `${name} ${mb}`).join(', ') : 'not read'
  console.log(`  server event loop delay: settled (3 s) ${loopText(settledLoop)}; during the attack ${loopText(attackLoop)}`)
  console.log(`  server memory, largest of each part (MB): settled ${heapText(settledLoop)}; during the attack ${heapText(attackLoop)}`)
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

type AttackReport = { attacks: number; bytesSent: number; statuses: [number, number][] }

/** The attacker process: CLIENTS connections attacking until BENCH_BODY_UNTIL; prints its report as JSON. */
async function attackers() {
  const port = Number(process.env.BENCH_BODY_PORT)
  const until = Number(process.env.BENCH_BODY_UNTIL)
  const statuses = new Map<number, number>()
  let bytesSent = 0
  let attacks = 0
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, index) => {
      while (Date.now() < until) {
        const result = await attack(port, PATHS[index % PATHS.length]!, index % 2 === 1)
        attacks += 1
        bytesSent += result.sent
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1)
      }
    }),
  )
  const report: AttackReport = { attacks, bytesSent, statuses: [...statuses] }
  process.stdout.write(JSON.stringify(report))
}

if (process.env.BENCH_BODY_ROLE === 'attacker') await attackers()
else await runBenchmark('bench:body-limits', main)
