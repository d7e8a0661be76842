import type { Request as ExpressRequest } from 'express'

/**
 * The client's address, for rate limits. The Express server works it out once per request and
 * passes it to Remix in this header, having first thrown away any value the client sent, so a
 * forged header cannot dodge a limit.
 */
export const CLIENT_IP_HEADER = 'x-sanad-client-ip'

/**
 * X-Forwarded-For is a list each proxy appends to; only the entries added by our own proxies can
 * be believed. With `trustedHops` proxies in front of us, the client is the entry that many places
 * from the end; with none, it is the socket's peer.
 */
export function resolveClientIp(request: Pick<ExpressRequest, 'headers' | 'socket'>, trustedHops: number): string {
  const peer = request.socket.remoteAddress ?? 'unknown'
  if (trustedHops <= 0) return peer
  const header = request.headers['x-forwarded-for']
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  const addresses = [...chain, peer]
  return addresses[Math.max(0, addresses.length - 1 - trustedHops)] ?? peer
}

export function clientIpFromRequest(request: Request): string {
  return request.headers.get(CLIENT_IP_HEADER) ?? 'unknown'
}
