import { PassThrough } from 'node:stream'
import { createReadableStreamFromReadable, type AppLoadContext, type EntryContext } from '@remix-run/node'
import { RemixServer } from '@remix-run/react'
import { isbot } from 'isbot'
import { renderToPipeableStream, renderToStaticMarkup } from 'react-dom/server'
import { DatabaseUnavailablePage } from '#app/components/database-unavailable.tsx'
import { NonceProvider } from '#app/components/nonce-provider.tsx'
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '#app/utils/database-unavailable.server.ts'

export const streamTimeout = 5_000

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const unavailable = databaseUnavailableDocument(request, responseHeaders)
  if (unavailable) return Promise.resolve(unavailable)
  const nonce = loadContext.cspNonce ?? ''
  // Crawlers and browsers without JavaScript get the whole document before it is sent.
  const waitForAll = isbot(request.headers.get('user-agent') ?? '') || remixContext.isSpaMode
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={streamTimeout} nonce={nonce} />
      </NonceProvider>,
      {
        nonce,
        [waitForAll ? 'onAllReady' : 'onShellReady']() {
          shellRendered = true
          const body = new PassThrough()
          responseHeaders.set('Content-Type', 'text/html; charset=utf-8')
          resolve(
            new Response(createReadableStreamFromReadable(body), {
              headers: responseHeaders,
              status: responseStatusCode,
            }),
          )
          pipe(body)
        },
        onShellError(error: unknown) {
          reject(error)
        },
        onError(error: unknown) {
          responseStatusCode = 500
          // Errors after the shell are logged by Remix's handleError; before it, the promise rejects.
          if (shellRendered) console.error(error)
        },
      },
    )
    setTimeout(abort, streamTimeout + 1_000)
  })
}

export function handleError(error: unknown, { request, context }: { request: Request; context?: AppLoadContext }) {
  rememberDatabaseUnavailable(error, request, context)
  // An aborted request (the browser navigated away) is not a fault of ours.
  if (request.signal.aborted) return
  void import('#app/utils/logger.server.ts').then(({ getLogger }) =>
    getLogger().error({ err: error, path: new URL(request.url).pathname }, 'Unhandled error'),
  )
}

// The database being unreachable is answered 503 with Retry-After, not 500. Remix hands the entry
// only sanitised errors ("Unexpected Server Error") in production, but calls handleError with the
// original first, so the request is remembered there.

const databaseUnavailableRequests = new WeakSet<Request>()

/**
 * Resource routes (CSV exports, calendar files, the event save without JavaScript, webhooks) never
 * reach the functions below; the flag on the load context lets the HTTP server turn their 500 into
 * the same 503 (app/server/index.ts).
 */
function rememberDatabaseUnavailable(error: unknown, request: Request, context: AppLoadContext | undefined) {
  if (!isDatabaseUnavailable(error)) return
  databaseUnavailableRequests.add(request)
  if (context) context.databaseUnavailable = true
}

function databaseUnavailableHeaders(headers: Headers) {
  const result = new Headers(headers)
  result.set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS))
  result.set('Cache-Control', 'no-store')
  return result
}

/** A page on its own: the app's layout needs the root loader's data, from the database. */
function databaseUnavailableDocument(request: Request, responseHeaders: Headers): Response | undefined {
  if (!databaseUnavailableRequests.has(request)) return undefined
  const headers = databaseUnavailableHeaders(responseHeaders)
  headers.set('Content-Type', 'text/html; charset=utf-8')
  return new Response(`<!DOCTYPE html>${renderToStaticMarkup(<DatabaseUnavailablePage />)}`, { status: 503, headers })
}

/** Single-fetch data requests (client navigations, form posts with JavaScript): the same status. */
export function handleDataRequest(response: Response, { request }: { request: Request }) {
  if (!databaseUnavailableRequests.has(request)) return response
  return new Response(response.body, { status: 503, headers: databaseUnavailableHeaders(response.headers) })
}
