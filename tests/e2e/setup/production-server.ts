import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import getPort from 'get-port'
import pg from 'pg'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string
    serverLogPath: string
  }
}

export const ARTIFACTS = path.resolve('tests/e2e/artifacts')

/**
 * Builds the app, then starts the production server on a free port with a fresh database: a new
 * embedded one in a temporary folder, or a new database on DATABASE_URL's server when it is set.
 * The background worker runs inside the server, as it does in development.
 */
export default async function setup(project: TestProject) {
  if (!process.env.E2E_SKIP_BUILD) {
    // Vitest sets NODE_ENV=test; the build must be a production one to match the server.
    const build = spawnSync('npx', ['remix', 'build'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } })
    if (build.status !== 0) throw new Error('The production build failed')
  }
  await mkdir(ARTIFACTS, { recursive: true })
  const folder = await mkdtemp(path.join(os.tmpdir(), 'sanad-e2e-'))
  const port = await getPort()
  const database = await freshDatabase(folder)
  const serverLogPath = path.join(ARTIFACTS, 'server.log')
  const log = createWriteStream(serverLogPath)

  const server = spawn(process.execPath, ['--import', 'tsx', 'app/server/index.ts'], {
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
      LOG_LEVEL: 'info',
      ...database.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout.pipe(log)
  server.stderr.pipe(log)
  const baseUrl = `http://127.0.0.1:${port}`
  await waitUntilHealthy(baseUrl, server, serverLogPath)

  project.provide('baseUrl', baseUrl)
  project.provide('serverLogPath', serverLogPath)

  return async () => {
    await stop(server)
    log.end()
    await database.drop()
    await rm(folder, { recursive: true, force: true })
  }
}

async function freshDatabase(folder: string) {
  const serverUrl = process.env.DATABASE_URL
  if (!serverUrl) {
    return { env: { DATABASE_URL: '', PGLITE_DIR: path.join(folder, 'pglite') }, drop: async () => {} }
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
  return { env: { DATABASE_URL: url.toString() }, drop: () => admin(`drop database if exists ${name} with (force)`) }
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
