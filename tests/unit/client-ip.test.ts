import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { clientIpFromRequest, CLIENT_IP_HEADER, resolveClientIp } from '#app/utils/client-ip.server.ts'

const PEER = '10.0.0.2'
const CLIENT = '203.0.113.9'

function request(forwardedFor: string | string[] | undefined, remoteAddress: string | undefined = PEER) {
  return { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress } } as Parameters<typeof resolveClientIp>[0]
}

/** Whatever a client may put in X-Forwarded-For: addresses, junk, commas, spaces, nothing. */
const forged = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 60 }),
  fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('', ' ', ',', 'unknown', CLIENT, PEER, '127.0.0.1', '::1')), { maxLength: 8 }).map((parts) => parts.join(',')),
  fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 3 }),
)

describe('resolveClientIp', () => {
  test('with no trusted proxy, the socket peer is the client, whatever X-Forwarded-For says', () => {
    fc.assert(
      fc.property(forged, (header) => {
        expect(resolveClientIp(request(header), 0)).toBe(PEER)
      }),
      { numRuns: 300 },
    )
  })

  test('with one trusted proxy, the address it appended is the client, whatever the client sent before it', () => {
    fc.assert(
      fc.property(forged, (header) => {
        // Our proxy appends the address it saw to whatever arrived (or starts the header).
        const sent = header === undefined ? [] : Array.isArray(header) ? header : [header]
        const appended = [...sent, CLIENT]
        // Node joins repeated headers with ", "; a proxy may also send them as separate lines.
        expect(resolveClientIp(request(appended.join(', ')), 1)).toBe(CLIENT)
        expect(resolveClientIp(request(appended), 1)).toBe(CLIENT)
      }),
      { numRuns: 300 },
    )
  })

  test('with one trusted proxy and no header at all (a request that did not come through it), the peer', () => {
    expect(resolveClientIp(request(undefined), 1)).toBe(PEER)
    expect(resolveClientIp(request(''), 1)).toBe(PEER)
  })

  test('two trusted proxies read two places from the end', () => {
    expect(resolveClientIp(request(`1.2.3.4, ${CLIENT}, 10.0.0.1`), 2)).toBe(CLIENT)
  })

  test('no socket address reads as "unknown", one shared bucket rather than none', () => {
    expect(resolveClientIp({ ...request('1.2.3.4'), socket: { remoteAddress: undefined } } as Parameters<typeof resolveClientIp>[0], 0)).toBe('unknown')
  })
})

test('clientIpFromRequest reads the address the server put in its own header', () => {
  expect(clientIpFromRequest(new Request('http://localhost/', { headers: { [CLIENT_IP_HEADER]: CLIENT } }))).toBe(CLIENT)
  expect(clientIpFromRequest(new Request('http://localhost/'))).toBe('unknown')
})
