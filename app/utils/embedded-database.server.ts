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
  keepProtocolSequencesTogether(server)
  await server.start()
  const port = Number(server.getServerConn().split(':').pop())
  if (serverFile) {
    await writeFile(serverFile, JSON.stringify({ pid: process.pid, port } satisfies ServerFile))
  }

  let stopped = false
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  embeddedUrls.add(url)
  return {
    url,
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

/** Front-end message types (PostgreSQL protocol 3) of the extended query protocol. */
const EXTENDED_QUERY_MESSAGES = new Set([0x50 /* Parse */, 0x42 /* Bind */, 0x44 /* Describe */, 0x45 /* Execute */, 0x43 /* Close */, 0x48 /* Flush */])
const SEQUENCE_ENDS = new Set([0x53 /* Sync */, 0x51 /* simple Query */])

type QueuedMessage = {
  handlerId: number
  message: Uint8Array
  resolve: (bytes: number) => void
  reject: (error: unknown) => void
  onData: (data: Uint8Array) => void
}

type QueryQueue = {
  queue: QueuedMessage[]
  processing: boolean
  lastHandlerId: number | null
  db: { isInTransaction: () => boolean; runExclusive: <T>(fn: () => Promise<T>) => Promise<T>; execProtocolRawStream: (message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }) => Promise<unknown> }
  processQueue: () => Promise<void>
  clearQueueForHandler: (handlerId: number) => void
}

/**
 * pglite-socket queues each connection's protocol messages one by one and keeps a connection's
 * messages together only inside a transaction. Outside one, a query is Parse, Bind, Execute and
 * Sync, and every connection shares PGlite's single backend: another connection's Parse landing
 * between them replaces the unnamed statement, and the Bind fails ("unnamed prepared statement
 * does not exist") or binds the wrong query. Here the queue also keeps a connection's messages
 * together from its first extended-protocol message to its Sync. Its processing loop is replaced
 * with one that also keeps going after a failed message (the original stops for good).
 */
function keepProtocolSequencesTogether(server: object) {
  const queue = (server as { queryQueue: QueryQueue }).queryQueue
  let sequenceOwner: number | null = null
  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return
    this.processing = true
    try {
      while (this.queue.length > 0) {
        const owner = this.db.isInTransaction() && this.lastHandlerId !== null ? this.lastHandlerId : sequenceOwner
        let item: QueuedMessage | undefined
        if (owner === null) {
          item = this.queue.shift()
        } else {
          const index = this.queue.findIndex((queued) => queued.handlerId === owner)
          // The owner's next message has not arrived yet: the others wait for it.
          if (index === -1) break
          item = this.queue.splice(index, 1)[0]
        }
        if (!item) break
        const type = item.message[0] ?? 0
        if (EXTENDED_QUERY_MESSAGES.has(type)) sequenceOwner = item.handlerId
        let bytes = 0
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length
                item.onData(data)
              },
            }),
          )
          if (SEQUENCE_ENDS.has(type)) sequenceOwner = null
          this.lastHandlerId = item.handlerId
          item.resolve(bytes)
        } catch (error) {
          if (sequenceOwner === item.handlerId) sequenceOwner = null
          item.reject(error)
        }
      }
    } finally {
      this.processing = false
    }
  }
  const clearQueueForHandler = queue.clearQueueForHandler.bind(queue)
  queue.clearQueueForHandler = (handlerId: number) => {
    // A connection that closes in the middle of a query must not hold everyone else back.
    if (sequenceOwner === handlerId) sequenceOwner = null
    clearQueueForHandler(handlerId)
  }
}

/** Addresses of embedded databases this process started or found. */
const embeddedUrls = new Set<string>()

/**
 * Whether a connection string points at an embedded database of this process. Such a server
 * runs every connection in one PGlite session, so what is per-connection on PostgreSQL (named
 * prepared statements) is shared there.
 */
export function isEmbeddedDatabaseUrl(url: string) {
  return embeddedUrls.has(url)
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
  const url = `postgres://postgres@127.0.0.1:${info.port}/postgres`
  embeddedUrls.add(url)
  return {
    url,
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
