/**
 * `npm run bench:startup`: the production server's cold start and idle memory. Builds for
 * production, makes an empty database on the benchmark server and starts the server once to apply
 * the migrations; then starts it BENCH_STARTUP_RUNS times (default 10) with MIGRATE_ON_START=false,
 * one after the other, each time timing process spawn to the first 200 from /healthz (asked every
 * 5 ms), then reading VmRSS from /proc/<pid>/status after BENCH_STARTUP_IDLE_SECONDS (default 5)
 * of idleness. Also the CPU time the server used to get there, which depends less on what else
 * the machine is doing. Prints the median, min and max of each.
 *
 * Environment: BENCH_STARTUP_TSX=1 measures `node --import tsx app/server/index.ts` (how the
 * server ran before docs/decisions/016) instead of the compiled server; BENCH_SKIP_BUILD (use the
 * build that is there); BENCH_DATABASE_URL (the PostgreSQL server).
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import getPort from 'get-port'
import { buildForProduction, createCleanUp, createEmptyDatabase, productionEnv, startAppServer, PRODUCTION_SERVER_ARGS } from './bench-server.ts'
import { positiveInteger } from './bench-env.ts'

const RUNS = positiveInteger('BENCH_STARTUP_RUNS', 10)
const IDLE_SECONDS = positiveInteger('BENCH_STARTUP_IDLE_SECONDS', 5)
const TSX = !!process.env.BENCH_STARTUP_TSX
const NODE_ARGS = TSX ? ['--import', 'tsx', 'app/server/index.ts'] : PRODUCTION_SERVER_ARGS

const log = (message: string) => process.stderr.write(`[bench:startup] ${message}\n`)
const { add: addCleanUp, interrupted, runBenchmark } = createCleanUp(log)

/** Resident memory of a running process, in MB (1 MB = 1,000,000 bytes), as the kernel reports it. */
async function residentMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1])
  if (!Number.isFinite(kib)) throw new Error(`No VmRSS in /proc/${pid}/status`)
  return (kib * 1024) / 1_000_000
}

/** User and system CPU time a process has used so far, in ms (the kernel counts 100 ticks a second). */
async function cpuMs(pid: number): Promise<number> {
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function main() {
  log(process.env.BENCH_SKIP_BUILD ? 'BENCH_SKIP_BUILD is set: using the existing build' : 'building for production (npm run build)')
  const built = await buildForProduction()
  const database = await createEmptyDatabase('startup')
  addCleanUp(`drop ${database.name}`, () => database.drop())
  // The first fetch loads the HTTP client in this process; do it before anything is timed.
  await fetch('http://127.0.0.1:9/').catch(() => undefined)

  const start = async (migrate: boolean) => {
    const port = await getPort({ host: '127.0.0.1' })
    const server = await startAppServer({
      port,
      nodeArgs: NODE_ARGS,
      pollMs: 5,
      env: { ...productionEnv(port, database.url), MIGRATE_ON_START: String(migrate), SEED_ON_START: 'false', WORKER_IN_PROCESS: 'false', LOG_LEVEL: 'warn' },
    })
    addCleanUp(`stop the server on port ${port}`, () => server.stop())
    return server
  }

  log(`node ${NODE_ARGS.join(' ')}: a first start applies the migrations`)
  const first = await start(true)
  await first.stop()
  log(`first start (with migrations): ${Math.round(first.readyMs)} ms`)

  const runs: { readyMs: number; cpuMs: number; rssMb: number }[] = []
  for (let run = 1; run <= RUNS; run++) {
    if (interrupted()) throw new Error('Interrupted')
    const server = await start(false)
    const startCpuMs = await cpuMs(server.process.pid!)
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000))
    const rssMb = await residentMb(server.process.pid!)
    await server.stop()
    runs.push({ readyMs: server.readyMs, cpuMs: startCpuMs, rssMb })
    log(`run ${run}/${RUNS}: ${Math.round(server.readyMs)} ms to the first 200 (${startCpuMs} ms of CPU), ${rssMb.toFixed(1)} MB resident after ${IDLE_SECONDS} s`)
  }

  const ready = runs.map((run) => run.readyMs)
  const cpu = runs.map((run) => run.cpuMs)
  const rss = runs.map((run) => run.rssMb)
  console.log(
    `\nStart-up of \`node ${NODE_ARGS.join(' ')}\` (${built === 'built' ? 'built now' : 'existing build, BENCH_SKIP_BUILD'}), NODE_ENV=production, ` +
      `PostgreSQL, MIGRATE_ON_START=false; ${RUNS} runs one after the other, load average at the end: ${os.loadavg()[0]!.toFixed(2)}`,
  )
  console.table([
    { measure: 'spawn → first 200 from /healthz (ms)', median: Math.round(median(ready)), min: Math.round(Math.min(...ready)), max: Math.round(Math.max(...ready)) },
    { measure: 'CPU time used by then (ms)', median: Math.round(median(cpu)), min: Math.min(...cpu), max: Math.max(...cpu) },
    {
      measure: `resident memory after ${IDLE_SECONDS} s idle (MB)`,
      median: Number(median(rss).toFixed(1)),
      min: Number(Math.min(...rss).toFixed(1)),
      max: Number(Math.max(...rss).toFixed(1)),
    },
  ])
}

await runBenchmark('bench:startup', main)
