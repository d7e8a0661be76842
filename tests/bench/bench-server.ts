import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import pg from 'pg'
import { compiled } from '#scripts/build-server.ts'

/**
 * Helpers for benchmarks that need the production build, a server process or a database of their
 * own on the benchmark server (PostgreSQL at 127.0.0.1:5432, or BENCH_DATABASE_URL).
 */

export const BENCH_SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: BENCH_SERVER_URL })
  await client.connect()
  await client.query(statement).finally(() => client.end())
}

/** An empty database (no migrations) on the benchmark server, named `sanad_bench_<prefix>_<random>`. */
export async function createEmptyDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `sanad_bench_${prefix}_${randomBytes(3).toString('hex')}`
  await admin(`create database ${name}`)
  const url = new URL(BENCH_SERVER_URL)
  url.pathname = `/${name}`
  return { name, url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) }
}

/** Runs a command to completion; rejects with its tail of output when it fails. */
export function runCommand(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; echo?: boolean } = {}) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
      if (options.echo) process.stderr.write(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
      if (options.echo) process.stderr.write(chunk)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr })
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${(stdout + stderr).slice(-4000)}`))
    })
  })
}

/** `npm run build` as a production build (Remix's, then the server's), unless BENCH_SKIP_BUILD is set. */
export async function buildForProduction(): Promise<'built' | 'skipped'> {
  if (process.env.BENCH_SKIP_BUILD) return 'skipped'
  await runCommand('npm', ['run', 'build'], { env: { ...process.env, NODE_ENV: 'production' } })
  return 'built'
}

/** What `npm start` runs, without npm and the shell in between. */
export const PRODUCTION_SERVER_ARGS = [compiled('index')]

/** The variables production requires, with dummy secrets (nothing at start calls Stripe or Resend). */
export function productionEnv(port: number, databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: randomBytes(32).toString('hex'),
    RESEND_API_KEY: 're_bench',
    RESEND_WEBHOOK_SECRET: 'whsec_bench',
    EMAIL_FROM: 'Bench <bench@example.org>',
    STRIPE_SECRET_KEY: 'sk_test_bench',
    STRIPE_WEBHOOK_SECRET: 'whsec_bench',
    APP_URL: `http://127.0.0.1:${port}`,
  }
}

/**
 * The environment of a production server with the demo data on its own database: every required
 * secret set to a stand-in, migrations and seeding at start, and no worker in the process (as in
 * production, where the worker is its own process).
 */
export function seededProductionEnv(databaseUrl: string, port: number): Record<string, string> {
  return { ...productionEnv(port, databaseUrl), MIGRATE_ON_START: 'true', SEED_ON_START: 'true', WORKER_IN_PROCESS: 'false', LOG_LEVEL: 'warn' }
}

export type RunningServer = {
  baseUrl: string
  process: ChildProcess
  /** Milliseconds from spawning the process to the first 200 from /healthz. */
  readyMs: number
  output: () => string
  stop: () => Promise<void>
}

/**
 * Starts the production server (`nodeArgs`, by default what `npm start` runs) with the given
 * environment on top of ours, and waits until /healthz answers 200, asking every `pollMs`.
 */
export async function startAppServer(options: {
  port: number
  env: Record<string, string>
  timeoutMs?: number
  nodeArgs?: string[]
  pollMs?: number
}): Promise<RunningServer> {
  const started = performance.now()
  const child = spawn(process.execPath, options.nodeArgs ?? PRODUCTION_SERVER_ARGS, {
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  // BENCH_SERVER_LOG: a file that gets all the server printed (with --trace-gc, say), not only its tail.
  const logFile = process.env.BENCH_SERVER_LOG
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000)
    if (logFile) appendFileSync(logFile, chunk)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const server: RunningServer = {
    baseUrl: `http://127.0.0.1:${options.port}`,
    process: child,
    readyMs: Number.NaN,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(force)
    },
  }

  const deadline = Date.now() + (options.timeoutMs ?? 90_000)
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`The server exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was healthy:\n${output}`)
      }
      try {
        const response = await fetch(`${server.baseUrl}/healthz`)
        if (response.ok) {
          server.readyMs = performance.now() - started
          return server
        }
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200))
    }
    throw new Error(`The server did not become healthy in time:\n${output}`)
  } catch (error) {
    await server.stop()
    throw error
  }
}

/**
 * Clean-up steps (drop a database, stop a server), run last-in first-out exactly once: on success,
 * on failure, or on Ctrl-C. `interrupted()` lets long loops stop taking new work once asked to stop.
 */
export function createCleanUp(log: (message: string) => void) {
  const steps: { label: string; run: () => Promise<unknown> }[] = []
  let cleanedUp: Promise<void> | undefined
  function cleanUp() {
    cleanedUp ??= (async () => {
      for (const step of steps.reverse()) {
        try {
          await step.run()
        } catch (error) {
          console.error(`Clean-up step "${step.label}" failed:`, error)
          process.exitCode = 1
        }
      }
    })()
    return cleanedUp
  }
  // `process.on`, not `once`: tsx relays Ctrl-C a second time, and with no listener left that one kills us mid-clean-up.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (cleanedUp) return
      log(`${signal}: cleaning up`)
      void cleanUp().finally(() => process.exit(130))
    })
  }
  /** Runs the benchmark, reports a failure with the top of its stack, cleans up, and exits. */
  async function runBenchmark(name: string, main: () => Promise<void>): Promise<never> {
    try {
      await main()
    } catch (error) {
      console.error(`\n${name} FAILED:`, error instanceof Error ? error.message : error)
      if (error instanceof Error && error.stack) console.error(error.stack.split('\n').filter((line) => line.startsWith('    at ')).slice(0, 5).join('\n'))
      process.exitCode = 1
    } finally {
      await cleanUp()
    }
    process.exit(process.exitCode ?? 0)
  }
  return {
    add: (label: string, run: () => Promise<unknown>) => void steps.push({ label, run }),
    interrupted: () => cleanedUp !== undefined,
    runBenchmark,
  }
}
