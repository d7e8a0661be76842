import { appUrl } from '#app/utils/env.server.ts'

/**
 * SameSite=Lax keeps the session cookie off another site's POST, but not off a sibling
 * subdomain's, and a form that signs someone in or out needs no cookie at all to do harm (login
 * CSRF). Browsers send Origin on every POST and Sec-Fetch-Site on most requests, so a request
 * that names another site is refused. APP_URL counts as ours for when a proxy in front ends TLS
 * and the request reaches us as plain http.
 */
export function isCrossSiteRequest(request: Request): boolean {
  return isCrossSite(request.headers, new URL(request.url).origin)
}

/** The same judgement from the headers alone, for the HTTP server in front of Remix. */
export function isCrossSite(headers: Headers, ownOrigin: string): boolean {
  if (headers.get('Sec-Fetch-Site') === 'cross-site') return true
  const origin = headers.get('Origin')
  if (origin === null) return false
  return origin !== ownOrigin && origin !== new URL(appUrl()).origin
}

/** Every state-changing action calls this first, before it reads the form or touches the database. */
export function assertSameOrigin(request: Request): void {
  if (isCrossSiteRequest(request)) {
    throw new Response('Requests from another site are not allowed', {
      status: 403,
      headers: { 'Cache-Control': 'no-store' },
    })
  }
}
