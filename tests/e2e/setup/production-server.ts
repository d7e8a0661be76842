import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import getPort from 'get-port'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { compiled } from '#scripts/build-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
    serverLogPath: string
  }
}

export const ARTIFACTS = path.resolve('tests/e2e/artifacts')

/**
 * Builds the app (`npm run build`), then starts the compiled production server, as production runs
 * it, on a free port with a fresh database: a new embedded one in a temporary folder, or a new
 * database on DATABASE_URL's server when it is set. The background worker runs inside the server,
 * as it does in development.
 */
export default async function setup(project: TestProject) {
  const server = await startE2eServer({ logName: 'server.log' })
  project.provide('baseUrl', server.baseUrl)
  project.provide('serverLogPath', server.serverLogPath)
  return server.teardown
}

/**
 * The production build (built first unless E2E_SKIP_BUILD is set) started on a free port with a
 * fresh, seeded database; `env` is laid over the settings below (the attacker suite runs it as if
 * behind a TLS load balancer). Its teardown stops it and fails the run if its log holds any of
 * the personal data the database ended up with.
 */
export async function startE2eServer(options: { logName: string; env?: Record<string, string> }) {
  if (!process.env.E2E_SKIP_BUILD) {
    // Vitest sets NODE_ENV=test; the build must be a production one to match the server.
    const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } })
    if (build.status !== 0) throw new Error('The production build failed')
  }
  await mkdir(ARTIFACTS, { recursive: true })
  const folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-e2e-'))
  const port = await getPort()
  const database = await freshDatabase(folder)
  const serverLogPath = path.join(ARTIFACTS, options.logName)
  const log = createWriteStream(serverLogPath)

  const server = spawn(process.execPath, [compiled('index')], {
    env: {
      ...process.env,
      // The production build and server, with NODE_ENV=test so that, with no Resend or Stripe key,
      // email lands in the development mailbox (which the tests read) and nothing leaves the machine.
      NODE_ENV: 'test',
      WORKER_IN_PROCESS: 'true',
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      SESSION_SECRET: randomBytes(32).toString('hex'),
      SEED_ON_START: 'true',
      // Everything the app would ever log, so the check at the end sees the most.
      LOG_LEVEL: 'debug',
      ...database.env,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Ended by the teardown, once both streams are done, so the log can be read whole.
  server.stdout.pipe(log, { end: false })
  server.stderr.pipe(log, { end: false })
  const baseUrl = `http://127.0.0.1:${port}`
  await waitUntilHealthy(baseUrl, server, serverLogPath)

  const teardown = async () => {
    await stop(server)
    await new Promise<void>((resolve) => log.end(resolve))
    try {
      await expectLogsFreeOfPersonalData(serverLogPath, await database.query(PERSONAL_DATA_SQL))
    } catch (error) {
      // Vitest only prints a teardown's error; the run must fail too.
      process.exitCode = 1
      throw error
    } finally {
      await database.drop()
      await rm(folder, { recursive: true, force: true })
    }
  }
  return { baseUrl, serverLogPath, teardown }
}

/**
 * Every name, email address, postal address, message and access need the database holds after
 * the whole run: the demo data and everything the tests typed in.
 */
const PERSONAL_DATA_SQL = [
  ['supporters', ['name', 'email']],
  ['donations', ['donor_name', 'donor_email', 'message']],
  ['gift_aid_declarations', ['full_name', 'house_name_or_number', 'address', 'postcode']],
  ['registrations', ['name', 'email', 'access_needs']],
  ['saver_links', ['email']],
  ['staff_users', ['name', 'email']],
  ['email_outbox', ['to_address']],
  ['email_suppressions', ['email']],
]
  .flatMap(([table, columns]) => (columns as string[]).map((column) => `select ${column}::text as value from ${table as string}`))
  .join(' union ')

/** The demo admin's password, which the tests type in to sign in, and their TOTP secret. */
const TYPED_SECRETS = ['sanad-demo-admin', 'JBSWY3DPEHPK3PXPSANADDEMOADMIN23']
const EMAIL_ADDRESS = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+/g

/**
 * The logs of the whole run hold none of it, and no email address at all (docs: "Logs never hold
 * emails, names, addresses, messages or card data"). Throwing here fails the run.
 */
async function expectLogsFreeOfPersonalData(logPath: string, rows: { value: string | null }[]) {
  const logs = await readFile(logPath, 'utf8')
  const values = [...new Set(rows.map((row) => row.value?.trim()).filter((value): value is string => !!value && value.length >= 4))]
  if (values.length < 10) throw new Error(`Expected the e2e database to hold personal data to look for; found ${values.length} values`)
  const found = [...values, ...TYPED_SECRETS].filter((value) => logs.includes(value))
  const emails = [...new Set(logs.match(EMAIL_ADDRESS) ?? [])]
  if (found.length > 0 || emails.length > 0) {
    throw new Error(
      `The server's logs (${logPath}) hold personal data: ${found.length} stored values and ${emails.length} email addresses, e.g. ${JSON.stringify([...found, ...emails].slice(0, 5))}`,
    )
  }
}

async function freshDatabase(folder: string) {
  const serverUrl = process.env.DATABASE_URL
  if (!serverUrl) {
    const dataDir = path.join(folder, 'pglite')
    // Read after the server has stopped, so the embedded database is free to open.
    const query = async (sql: string) => {
      const embedded = await PGlite.create(dataDir)
      try {
        return (await embedded.query<{ value: string | null }>(sql)).rows
      } finally {
        await embedded.close()
      }
    }
    return { env: { DATABASE_URL: '', PGLITE_DIR: dataDir }, query, drop: async () => {} }
  }
  const name = `sanad_e2e_${randomBytes(4).toString('hex')}`
  const adminUrl = new URL(serverUrl)
  adminUrl.pathname = '/postgres'
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl.toString() })
    await client.connect()
    await client.query(statement).finally(() => client.end())
  }
  await admin(`create database ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    try {
      return (await client.query<{ value: string | null }>(sql)).rows
    } finally {
      await client.end()
    }
  }
  return { env: { DATABASE_URL: url.toString() }, query, drop: () => admin(`drop database if exists ${name} with (force)`) }
}

async function waitUntilHealthy(baseUrl: string, server: ChildProcess, logPath: string) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`The server exited with code ${server.exitCode}; see ${logPath}`)
    try {
      const response = await fetch(`${baseUrl}/healthz`)
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`The server did not become healthy within 60 s; see ${logPath}`)
}

async function stop(server: ChildProcess) {
  if (server.exitCode !== null) return
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGTERM')
  const timeout = setTimeout(() => server.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timeout)
}
