import http from 'node:http'
import express from 'express'
import getPort from 'get-port'
import { afterEach, expect, test } from 'vitest'
import { createPublicPageCache, submissionIdFor } from '#app/utils/page-cache.server.ts'
import { assetHeaders, contentSecurityPolicy, createSecurityHeaders, defaultCacheControl, nonceOf } from '#app/utils/security-headers.server.ts'

const servers: http.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

/**
 * The server's middleware in the order app/server/index.ts uses, in front of a stand-in for Remix
 * that renders a page with the response's nonce and the request's submission id, as the real
 * appeal page does.
 */
async function start(options: { production: boolean; cacheSeconds?: number }) {
  const host = '127.0.0.1'
  const port = await getPort()
  const app = express()
  app.disable('x-powered-by')
  app.use(createSecurityHeaders({ production: options.production, development: false }))
  // The cache serves only the site's own Host.
  const cache = createPublicPageCache({ seconds: options.cacheSeconds ?? 0, origin: `http://${host}:${port}` })
  app.use(cache.fill)
  app.all('*', (request, response) => {
    const id = submissionIdFor(new Request(`http://${host}${request.url}`, { headers: request.headers as Record<string, string> }))
    response
      .type('html')
      .send(`<html><body><input name="submissionId" value="${id}"><script nonce="${nonceOf(response)}">1</script></body></html>`)
  })
  const server = http.createServer((request, response) => {
    if (cache.serve(request, response, () => {})) return
    app(request, response)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  return `http://${host}:${port}`
}

const nonceIn = (policy: string | null) => /'nonce-([A-Za-z0-9_-]+)'/.exec(policy ?? '')?.[1]

test('production adds a year of HSTS with subdomains; other modes do not', async () => {
  const production = await fetch(`${await start({ production: true })}/`)
  expect(production.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  const test_ = await fetch(`${await start({ production: false })}/`)
  expect(test_.headers.get('strict-transport-security')).toBeNull()
})

test('every response carries the policy, and its nonce is the one the page’s scripts carry', async () => {
  const base = await start({ production: true })
  for (const path of ['/', '/staff', '/no-such-page', '/appeals/a']) {
    const response = await fetch(`${base}${path}`)
    const nonce = nonceIn(response.headers.get('content-security-policy'))
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(await response.text()).toContain(`<script nonce="${nonce}">`)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
    expect(response.headers.get('permissions-policy')).toContain('camera=()')
  }
})

test('only the staff check-in page may use the camera, from our own origin; every other path keeps camera=()', async () => {
  const base = await start({ production: true })
  const id = '0b6f4a3e-6a8e-4c1e-9a43-0d6a1f7c2b11'
  const checkIn = await fetch(`${base}/staff/events/${id}/check-in`)
  const policy = checkIn.headers.get('permissions-policy') ?? ''
  expect(policy.split(', ')).toContain('camera=(self)')
  expect(policy.split(', ')).toContain('microphone=()')
  expect(policy.split(', ')).not.toContain('camera=()')
  const others = ['/', `/staff/events/${id}`, `/staff/events/${id}/edit`, `/staff/events/${id}/check-in/more`, `/events/check-in`, '/check-in', `/staff/events/${id}/check-in.data`]
  for (const path of others) {
    const response = await fetch(`${base}${path}`)
    expect(response.headers.get('permissions-policy')?.split(', '), path).toContain('camera=()')
  }
})

test('a page served from the cache gets a fresh nonce and submission id, in the body and the policy alike', async () => {
  const base = await start({ production: true, cacheSeconds: 30 })
  const views = []
  for (let index = 0; index < 4; index += 1) {
    const response = await fetch(`${base}/appeals/walk-again`)
    const body = await response.text()
    views.push({
      cache: response.headers.get('x-page-cache'),
      nonce: nonceIn(response.headers.get('content-security-policy')),
      bodyNonce: /nonce="([^"]+)"/.exec(body)?.[1],
      id: /value="([^"]+)"/.exec(body)?.[1],
      frame: response.headers.get('x-frame-options'),
      cacheControl: response.headers.get('cache-control'),
    })
  }
  expect(views.filter((view) => view.cache === 'hit').length).toBe(3)
  for (const view of views) {
    expect(view.bodyNonce).toBe(view.nonce)
    expect(view.frame).toBe('DENY')
    expect(view.cacheControl).toBe('no-cache')
  }
  expect(new Set(views.map((view) => view.nonce)).size).toBe(4)
  expect(new Set(views.map((view) => view.id)).size).toBe(4)
})

test('only anonymous GETs of public pages may be stored by a browser', () => {
  const get = (url: string, cookie?: string) => ({ method: 'GET', url, headers: cookie ? { cookie } : {} })
  expect(defaultCacheControl(get('/appeals/walk-again'), 200)).toBe('no-cache')
  expect(defaultCacheControl(get('/events/briefing/calendar.ics'), 200)).toBe('no-cache')
  expect(defaultCacheControl(get('/'), 200)).toBe('no-cache')
  // A saver's cookie makes the events pages show their saves.
  expect(defaultCacheControl(get('/events/briefing', 'sanad_saver=1'), 200)).toBe('no-store')
  expect(defaultCacheControl(get('/saved'), 200)).toBe('no-store')
  expect(defaultCacheControl(get('/staff'), 200)).toBe('no-store')
  expect(defaultCacheControl(get('/registrations/1?signature=x'), 200)).toBe('no-store')
  expect(defaultCacheControl(get('/appeals/walk-again'), 404)).toBe('no-store')
  expect(defaultCacheControl({ method: 'POST', url: '/appeals/walk-again', headers: {} }, 200)).toBe('no-store')
})

test('the policy forbids inline scripts, plugins, framing and base changes, and allows Checkout only where forms lead there', () => {
  const policy = contentSecurityPolicy({ nonce: 'abc', path: '/', development: false })
  expect(policy).toContain("script-src 'self' 'nonce-abc'")
  expect(policy).not.toContain('unsafe')
  expect(policy).toContain("object-src 'none'")
  expect(policy).toContain("frame-ancestors 'none'")
  expect(policy).toContain("base-uri 'none'")
  expect(policy).toContain("form-action 'self';")
  expect(contentSecurityPolicy({ nonce: 'abc', path: '/appeals/walk-again', development: false })).toContain(
    "form-action 'self' https://checkout.stripe.com;",
  )
  expect(contentSecurityPolicy({ nonce: 'abc', path: '/staff/appeals/x', development: false })).toContain("form-action 'self';")
})

test('fingerprinted assets carry only nosniff and same-origin resource policy', async () => {
  const app = express()
  app.use('/build', assetHeaders, (_request, response) => {
    response.type('js').send('export {}')
  })
  const port = await getPort()
  const server = http.createServer(app)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const response = await fetch(`http://127.0.0.1:${port}/build/entry.js`)
  expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  expect(response.headers.get('cross-origin-resource-policy')).toBe('same-origin')
  expect(response.headers.get('content-security-policy')).toBeNull()
})
