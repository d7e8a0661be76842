import { watch } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import { createRequestHandler } from '@remix-run/express'
import { broadcastDevReady, installGlobals, type AppLoadContext, type ServerBuild } from '@remix-run/node'
import compression from 'compression'
import express from 'express'
import onHeaders from 'on-headers'
import { CLIENT_IP_HEADER, resolveClientIp } from '#app/utils/client-ip.server.ts'
import { DATABASE_RETRY_AFTER_SECONDS } from '#app/utils/database-unavailable.server.ts'
import { closeDb } from '#app/utils/db.server.ts'
import { isCrossSite } from '#app/utils/same-origin.server.ts'
import { appOrigin } from '#app/utils/absolute-url.server.ts'
import { EnvError, getEnv, listenHost } from '#app/utils/env.server.ts'
import { getLogger, getRequestLogger } from '#app/utils/logger.server.ts'
import { createPublicPageCache } from '#app/utils/page-cache.server.ts'
import { PHOTO_FORM_BODY_MAX_BYTES, WEBHOOK_BODY_MAX_BYTES } from '#app/utils/request-body.server.ts'
import { assetHeaders, createSecurityHeaders, nonceOf } from '#app/utils/security-headers.server.ts'
import { prepareDatabase } from './prepare-database.server.ts'
import { createErrorHandler, dropUntrustedForwarding, oneRequestAtATime, refuseMalformedRequest, refuseOversizedBody } from './request-guards.server.ts'
import { answerStripeWebhook } from './stripe-webhook-endpoint.server.ts'
import { startAppWorker, type AppWorker } from '#app/worker/worker.server.ts'

installGlobals({ nativeFetch: true })

let env: ReturnType<typeof getEnv>
try {
  env = getEnv()
} catch (error) {
  if (error instanceof EnvError) {
    console.error(`Sanad cannot start.\n${error.message}`)
    process.exit(1)
  }
  throw error
}
// Read by V8 each time it sets the next full collection's threshold, so it holds when set here.
if (env.HEAP_GROWING_PERCENT > 0) v8.setFlagsFromString(`--heap-growing-percent=${env.HEAP_GROWING_PERCENT}`)
const logger = getLogger()
const isDevelopment = env.NODE_ENV === 'development'
const BUILD_PATH = path.resolve('build/index.js')

if (env.MIGRATE_ON_START) {
  await prepareDatabase({ seed: env.SEED_ON_START || (isDevelopment && !env.DATABASE_URL) })
}
// In development the worker runs here; in production it is its own process (`npm run worker`).
const worker: AppWorker | undefined = (env.WORKER_IN_PROCESS ?? isDevelopment) ? await startAppWorker() : undefined

let build = (await import(pathToFileURL(BUILD_PATH).href)) as ServerBuild

const pageCache = createPublicPageCache({ seconds: env.PAGE_CACHE_SECONDS, origin: appOrigin(env) })
const app = express()
app.disable('x-powered-by')
// req.protocol, req.hostname and req.ip believe X-Forwarded-* only from the proxies we were told
// of; no absolute address is built from them either way (utils/absolute-url.server.ts).
app.set('trust proxy', env.TRUST_PROXY_HOPS)
app.use(compression())
// Fingerprinted assets never change, so they need no validators; everything else in public/ may.
app.use(
  '/build',
  assetHeaders,
  express.static('public/build', { immutable: true, maxAge: '1y', etag: false, lastModified: false, acceptRanges: false }),
)
app.use(createSecurityHeaders({ production: env.NODE_ENV === 'production', development: isDevelopment }))
app.use(requestLog)
// Anonymous views of appeal pages are rendered into a cache here when it has no fresh copy; the
// HTTP server below serves fresh copies before Express (docs/decisions/010-public-page-cache.md).
app.use(pageCache.fill)
app.use(express.static('public', { maxAge: '1h' }))
// Another site's form post is refused here with a 403, for every route, before Remix (whose own
// check would answer it with a 500). Webhooks come from servers and carry no Origin header.
app.use((request, response, next) => {
  if (request.method === 'GET' || request.method === 'HEAD') return next()
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value)
  if (isCrossSite(headers, `${request.protocol}://${request.get('host')}`)) {
    response.status(403).set('Cache-Control', 'no-store').type('text/plain').send('Requests from another site are not allowed')
    return
  }
  next()
})
// The client's address for rate limits, worked out here once; whatever the client sent is replaced.
app.use((request, _response, next) => {
  request.headers[CLIENT_IP_HEADER] = resolveClientIp(request, env.TRUST_PROXY_HOPS)
  next()
})
// Each document's scripts carry the nonce its Content-Security-Policy names. A route that failed
// because the database could not be reached answers 503, resource routes included (the entry
// server answers documents and data requests itself).
const getLoadContext = (_request: express.Request, response: express.Response): AppLoadContext => {
  const context: AppLoadContext = { cspNonce: nonceOf(response) }
  onHeaders(response, function databaseUnavailable(this: http.ServerResponse) {
    if (!context.databaseUnavailable || this.statusCode !== 500) return
    this.statusCode = 503
    this.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS))
    this.setHeader('Cache-Control', 'no-store')
  })
  return context
}
app.all(
  '*',
  isDevelopment
    ? (request, response, next) =>
        createRequestHandler({ build, mode: 'development', getLoadContext })(request, response, next)
    : createRequestHandler({ build, mode: env.NODE_ENV, getLoadContext }),
)
app.use(createErrorHandler(logger))

const bodyLimits = { forms: env.REQUEST_BODY_LIMIT_KB * 1024, photoForms: PHOTO_FORM_BODY_MAX_BYTES, webhooks: WEBHOOK_BODY_MAX_BYTES }
/** The guards that answer before anything reads the request: true when one did (and it is logged). */
function refused(request: http.IncomingMessage, response: http.ServerResponse, started: bigint) {
  if (!refuseMalformedRequest(request, response) && !refuseOversizedBody(request, response, bodyLimits)) return false
  logRequest(request.method, request.url, response.statusCode, started)
  return true
}
const server = http.createServer(
  oneRequestAtATime((request, response) => {
    const started = process.hrtime.bigint()
    if (refused(request, response, started)) return
    serve(request, response, started)
  }),
)
// A client that asks before sending its body (`Expect: 100-continue`, as curl does for large
// uploads) is refused before it sends any of it; left to itself Node would tell it to go on.
server.on('checkContinue', (request: http.IncomingMessage, response: http.ServerResponse) => {
  const started = process.hrtime.bigint()
  if (refused(request, response, started)) return
  response.writeContinue()
  serve(request, response, started)
})
function serve(request: http.IncomingMessage, response: http.ServerResponse, started: bigint) {
  dropUntrustedForwarding(request, env.TRUST_PROXY_HOPS)
  if (pageCache.serve(request, response, (status, started) => logRequest(request.method, request.url, status, started))) return
  // Stripe's events, stored and answered without Express (docs/decisions/019).
  const production = env.NODE_ENV === 'production'
  if (answerStripeWebhook(request, response, { production, log: (status) => logRequest(request.method, request.url, status, started) })) return
  app(request, response)
}
server.keepAliveTimeout = env.KEEP_ALIVE_SECONDS * 1000
const host = listenHost(env)
server.listen(env.PORT, host, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : env.PORT
  logger.info({ host: host ?? 'all interfaces', port, database: env.DATABASE_URL ? 'postgresql' : 'embedded' }, 'Sanad is listening')
  // The e2e runner and scripts read this line to learn a port chosen by the OS.
  const shown = host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host
  console.log(`Sanad listening on http://${shown}:${port}`)
  if (isDevelopment) {
    void broadcastDevReady(build)
    watchForRebuilds()
  }
})

// A promise nobody awaited must not take every request in flight down with it; it is logged
// (without personal data) so it can be found and fixed.
process.on('unhandledRejection', (reason) => {
  logger.error({ err: reason }, 'Unhandled promise rejection')
})

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => void shutdown(signal))
}

/** Finishes the requests in flight, then closes the database, within the grace period. */
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  logger.info({ signal }, 'Stopping: finishing requests in flight')
  const force = setTimeout(() => {
    logger.warn('Grace period over: closing the remaining connections')
    server.closeAllConnections()
  }, env.SHUTDOWN_GRACE_SECONDS * 1000)
  force.unref()
  // server.close() waits for kept-alive connections, which their clients may hold (and use) past
  // the grace period: each is closed as soon as it has no request in flight.
  const closeIdle = setInterval(() => server.closeIdleConnections(), 100)
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeIdleConnections()
  })
  clearInterval(closeIdle)
  await worker?.stop()
  await closeDb()
  logger.info('Stopped')
  process.exit(0)
}

const requestLogger = getRequestLogger()

function requestLog(request: express.Request, response: express.Response, next: express.NextFunction) {
  const started = process.hrtime.bigint()
  response.on('finish', () => logRequest(request.method, request.originalUrl, response.statusCode, started))
  next()
}

function logRequest(method: string | undefined, url: string | undefined, status: number, started: bigint) {
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6
  // The path only: query strings can carry tokens and session ids.
  const path = (url ?? '').split('?')[0]
  requestLogger.info({ method, path, status, durationMs: Math.round(durationMs) }, 'request')
}

/** `remix dev --manual`: keep this process (and the embedded database) and load each new build. */
function watchForRebuilds() {
  let timer: NodeJS.Timeout | undefined
  watch(path.dirname(BUILD_PATH), (_event, file) => {
    if (file !== 'version.txt') return
    clearTimeout(timer)
    timer = setTimeout(async () => {
      build = (await import(`${pathToFileURL(BUILD_PATH).href}?t=${Date.now()}`)) as ServerBuild
      await broadcastDevReady(build)
    }, 50)
  })
}
