import { bypass, http, HttpResponse, passthrough } from 'msw'
import { setupServer } from 'msw/node'
import { FAR_END_HOST_HEADER } from './far-end.ts'

/**
 * Compiled by build.ts and loaded with `--import` into each process under test. The SDKs talk to
 * Stripe and Resend as in production; their requests go to the fake far end in the test process
 * instead, and any other request that would leave the machine fails, so nothing can reach a real
 * service.
 */
const farEnd = process.env.SCALE_FAR_END_URL
if (!farEnd) throw new Error('SCALE_FAR_END_URL is not set')

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

async function forward({ request }: { request: Request }) {
  const original = new URL(request.url)
  const headers = new Headers(request.headers)
  headers.set(FAR_END_HOST_HEADER, original.host)
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer()
  const answer = await fetch(bypass(new Request(new URL(original.pathname + original.search, farEnd), { method: request.method, headers, body })))
  return new HttpResponse(await answer.arrayBuffer(), { status: answer.status, headers: answer.headers })
}

setupServer(
  http.all('https://api.stripe.com/*', forward),
  http.all('https://api.resend.com/*', forward),
  http.all('*', ({ request }) => {
    if (LOOPBACK.has(new URL(request.url).hostname)) return passthrough()
    console.error(`far-end-redirect: refused a request to ${new URL(request.url).host}`)
    return HttpResponse.error()
  }),
).listen({ onUnhandledRequest: 'error' })
