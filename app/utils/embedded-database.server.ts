import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) served on a loopback port
 * with pglite-socket, so that the app, the migrations and the job engine all speak to it through
 * `pg`, exactly as they speak to a real server. See docs/decisions/002-embedded-database.md.
 *
 * PGlite may be opened by one process only. The process that opens it writes a small file
 * beside the data directory with its port and pid; another process (`npm run db:migrate` while
 * the dev server runs) connects to that port instead of opening the files a second time.
 */

export type EmbeddedDatabase = {
  url: string
  /** True when this process opened the files; false when it borrowed another process's server. */
  owned: boolean
  stop: () => Promise<void>
  /** A gzipped tar of the data directory (only when this process owns the database). */
  dump?: () => Promise<Blob>
}

type ServerFile = { pid: number; port: number }

const MEMORY = 'memory://'

export async function startEmbeddedDatabase(options: {
  dataDir: string
  /** A tar of a data directory to start from (used by the tests to skip migrations). */
  loadDataDir?: Blob
}): Promise<EmbeddedDatabase> {
  const inMemory = options.dataDir === MEMORY
  const dataDir = inMemory ? MEMORY : path.resolve(options.dataDir)
  const serverFile = inMemory ? undefined : `${dataDir}.server.json`

  if (serverFile) {
    const borrowed = await findRunningServer(serverFile)
    if (borrowed) return borrowed
    await mkdir(path.dirname(dataDir), { recursive: true })
  }

  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ])
  const pglite = await PGlite.create({
    dataDir: inMemory ? undefined : dataDir,
    loadDataDir: options.loadDataDir,
  })
  const server = new PGLiteSocketServer({
    db: pglite,
    host: '127.0.0.1',
    port: 0,
    // PGlite runs one statement at a time; the socket server queues the connections' queries and
    // keeps a transaction's statements together, so a pool of several connections is safe.
    maxConnections: 100,
  })
  await server.start()
  const port = Number(server.getServerConn().split(':').pop())
  if (serverFile) {
    await writeFile(serverFile, JSON.stringify({ pid: process.pid, port } satisfies ServerFile))
  }

  let stopped = false
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    owned: true,
    dump: () => pglite.dumpDataDir('gzip'),
    async stop() {
      if (stopped) return
      stopped = true
      await server.stop()
      await pglite.close()
      if (serverFile) await rm(serverFile, { force: true })
    },
  }
}

async function findRunningServer(serverFile: string): Promise<EmbeddedDatabase | undefined> {
  let info: ServerFile
  try {
    info = JSON.parse(await readFile(serverFile, 'utf8')) as ServerFile
  } catch {
    return undefined
  }
  if (!isAlive(info.pid) || !(await acceptsConnections(info.port))) {
    await rm(serverFile, { force: true })
    return undefined
  }
  return {
    url: `postgres://postgres@127.0.0.1:${info.port}/postgres`,
    owned: false,
    stop: async () => {},
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function acceptsConnections(port: number) {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
