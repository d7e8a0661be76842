import { appUrl, getEnv, type Env } from './env.server.ts'

/**
 * The one home for "the absolute address of a page of ours". It comes from APP_URL, never from
 * the request: Host and X-Forwarded-* are whatever the client (or a misconfigured proxy) sent, and
 * a page built from them can be cached and shown to everyone (docs/decisions/022). Behind a TLS
 * load balancer the request even arrives as plain http, so its own origin would be wrong anyway.
 */
export function appOrigin(env: Env = getEnv()): string {
  return new URL(appUrl(env)).origin
}

/** `/appeals/x` → `https://donate.example.org/appeals/x`. Only paths on this site. */
export function absoluteUrl(path: string, env: Env = getEnv()): string {
  if (!path.startsWith('/') || path.startsWith('//')) throw new Error('absoluteUrl takes a path on this site, starting with one /')
  return `${appUrl(env)}${path}`
}
