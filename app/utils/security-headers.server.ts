import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import helmet from 'helmet'
import onHeaders from 'on-headers'

/**
 * The headers every response carries, fingerprinted assets aside (`assetHeaders`; see
 * docs/decisions/012-security-headers.md). Supporters may be watched by hostile states, so a
 * page may run only the scripts we sent with it, load nothing from any other origin, never be
 * framed, and never be kept by a browser or proxy when it shows anything about a person.
 */

/** Stripe's hosted Checkout: the only other origin a page of ours may send a supporter to by form. */
export const STRIPE_CHECKOUT_ORIGIN = 'https://checkout.stripe.com'

/**
 * Pages whose forms can end in a redirect to Checkout (a gift, a paid ticket, a claimed waitlist
 * place). Without JavaScript the browser follows that redirect as part of the form submission, so
 * `form-action` must allow Stripe there, and only there.
 */
const CHECKOUT_FORM_PATH = /^\/(appeals|events|registrations)\/[^/]+\/?$/

/**
 * Pages that show nothing about the person looking at them when asked without a cookie: these may
 * be stored by the browser (and revalidated). Everything else defaults to `no-store`.
 */
const PUBLIC_PAGE_PATH = /^\/(|about|privacy|contact|appeals|events|appeals\/[^/]+|events\/[^/]+|events\/[^/]+\/calendar\.ics)\/?$/

const permissionsPolicy = (camera: '()' | '(self)') =>
  [
    'accelerometer=()',
    `camera=${camera}`,
    'display-capture=()',
    'geolocation=()',
    'gyroscope=()',
    'magnetometer=()',
    'microphone=()',
    'midi=()',
    'payment=()',
    'usb=()',
    'browsing-topics=()',
  ].join(', ')

const PERMISSIONS_POLICY = permissionsPolicy('()')

/**
 * The one page that may use a camera: staff check-in scans attendees' QR codes with the phone's
 * camera, from our own origin only. Every other page, and every frame, keeps `camera=()`.
 */
const CAMERA_PAGE_PATH = /^\/staff\/events\/[^/]+\/check-in\/?$/

/** The Permissions-Policy of a response to `path`: nothing powerful, the check-in page's camera aside. */
export function permissionsPolicyFor(path: string): string {
  return CAMERA_PAGE_PATH.test(path) ? permissionsPolicy('(self)') : PERMISSIONS_POLICY
}

/** A fresh nonce for one response's scripts. */
export function createNonce(): string {
  return randomBytes(16).toString('base64url')
}

/** The nonce this response's scripts carry, set by `assignNonce` (or by the page cache's fill). */
export function nonceOf(response: ServerResponse): string {
  return (response as Response).locals?.cspNonce ?? ''
}

export function setNonce(response: ServerResponse, nonce: string) {
  ;(response as Response).locals.cspNonce = nonce
}

export function contentSecurityPolicy(options: { nonce: string; path: string; development: boolean }): string {
  const directives: Record<string, string> = {
    'default-src': "'self'",
    'script-src': `'self' 'nonce-${options.nonce}'`,
    'style-src': "'self'",
    // The check-in QR code and small inline icons are data: images; nothing else leaves 'self'.
    'img-src': "'self' data:",
    'font-src': "'self'",
    // The development server's live reload talks over a WebSocket.
    'connect-src': options.development ? "'self' ws:" : "'self'",
    'form-action': CHECKOUT_FORM_PATH.test(options.path) ? `'self' ${STRIPE_CHECKOUT_ORIGIN}` : "'self'",
    'frame-src': "'none'",
    'frame-ancestors': "'none'",
    'object-src': "'none'",
    'base-uri': "'none'",
    'manifest-src': "'self'",
    'worker-src': "'none'",
  }
  return Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ')
}

/**
 * The default Cache-Control for a response that did not choose one: anonymous views of public
 * pages may be stored (and must be revalidated); anything else could show someone's own data.
 */
export function defaultCacheControl(request: Pick<IncomingMessage, 'method' | 'url' | 'headers'>, status: number): string {
  const path = (request.url ?? '').split('?')[0] ?? ''
  const anonymousPublicPage =
    (request.method === 'GET' || request.method === 'HEAD') && !request.headers.cookie && status === 200 && PUBLIC_PAGE_PATH.test(path)
  return anonymousPublicPage ? 'no-cache' : 'no-store'
}

/**
 * Fingerprinted scripts and stylesheets: a policy means nothing on them, and a page loads twenty,
 * so they carry only what protects a file (no type sniffing, no use by other sites).
 */
export function assetHeaders(_request: Request, response: Response, next: NextFunction) {
  response.setHeader('X-Content-Type-Options', 'nosniff')
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin')
  next()
}

/**
 * The headers of an answer to a machine (Stripe's webhook), written without Express on the fast
 * path before it: the same protections every response carries, for a body that is never a page.
 */
export function machineResponseHeaders(options: { production: boolean }): Record<string, string> {
  return {
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Permissions-Policy': PERMISSIONS_POLICY,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
    ...(options.production ? { 'Strict-Transport-Security': `max-age=${365 * 24 * 60 * 60}; includeSubDomains` } : {}),
  }
}

/** Express middleware, first in the chain: the static headers now, the rest as headers are written. */
export function createSecurityHeaders(options: { production: boolean; development: boolean }) {
  const staticHeaders = helmet({
    contentSecurityPolicy: false,
    strictTransportSecurity: options.production ? { maxAge: 365 * 24 * 60 * 60, includeSubDomains: true } : false,
    // These three are set as the headers are written instead (below): a route may choose its own
    // (a page with a token in its address sends no referrer), and a header sent twice is confusing.
    referrerPolicy: false,
    xContentTypeOptions: false,
    xFrameOptions: { action: 'deny' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  })
  return function securityHeaders(request: Request, response: Response, next: NextFunction) {
    setNonce(response, createNonce())
    response.setHeader('Permissions-Policy', permissionsPolicyFor(request.path))
    onHeaders(response, function applyLateHeaders(this: ServerResponse) {
      if (!this.hasHeader('content-security-policy')) {
        this.setHeader(
          'Content-Security-Policy',
          contentSecurityPolicy({ nonce: nonceOf(this), path: request.path, development: options.development }),
        )
      }
      if (!this.hasHeader('x-content-type-options')) this.setHeader('X-Content-Type-Options', 'nosniff')
      if (!this.hasHeader('referrer-policy')) this.setHeader('Referrer-Policy', 'strict-origin-when-cross-origin')
      if (!this.hasHeader('cache-control')) this.setHeader('Cache-Control', defaultCacheControl(request, this.statusCode))
    })
    staticHeaders(request, response, next)
  }
}
