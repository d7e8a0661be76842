import { randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The far end of Stripe's and Resend's HTTP APIs as a real HTTP server in the test process, for
 * the servers and the worker under test, which run as processes of their own (msw in this process
 * cannot see their requests). Each of them loads `far-end-redirect.ts`, which sends
 * api.stripe.com and api.resend.com here and refuses every other outside host.
 */

export const FAR_END_HOST_HEADER = 'x-far-end-host'

export type FakeCheckoutSession = { id: string; url: string; donationId: string | null; amountMinor: number; currency: string }
export type ReceivedEmail = { idempotencyKey: string | null; to: unknown; subject: unknown }

export type FarEnd = {
  url: string
  /** Checkout Sessions by id, as Stripe keeps them. */
  sessions: Map<string, FakeCheckoutSession>
  /** Every POST /v1/checkout/sessions, including the ones an idempotency key answered again. */
  checkoutRequests: number
  /** Every POST /v1/refunds, including the ones an idempotency key answered again. */
  refundRequests: { paymentIntent: string | null; amountMinor: number; idempotencyKey: string | null }[]
  /** The refunds Stripe made: one per idempotency key. */
  refunds: Map<string, { id: string; paymentIntent: string | null; amountMinor: number }>
  /** Every email Resend was asked to send, in order, repeats included. */
  emails: ReceivedEmail[]
  /** Requests to paths this fake does not play: each one is a gap in the test or a new call. */
  unexpected: string[]
  close: () => Promise<void>
}

export async function startFarEnd(): Promise<FarEnd> {
  const sessionsByKey = new Map<string, FakeCheckoutSession>()
  const state: Omit<FarEnd, 'url' | 'close'> = {
    sessions: new Map(),
    checkoutRequests: 0,
    refundRequests: [],
    refunds: new Map(),
    emails: [],
    unexpected: [],
  }

  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const host = request.headers[FAR_END_HOST_HEADER]
    const url = new URL(request.url ?? '/', 'http://far-end')
    const idempotencyKey = (request.headers['idempotency-key'] as string | undefined) ?? null
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' })
      response.end(JSON.stringify(value))
    }

    if (host === 'api.stripe.com') {
      const form = new URLSearchParams(request.method === 'GET' ? url.search : body)
      if (request.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
        state.checkoutRequests += 1
        // Stripe answers a repeated idempotency key with the session it made the first time.
        const key = idempotencyKey ?? randomUUID()
        let session = sessionsByKey.get(key)
        if (!session) {
          const id = `cs_test_${randomBytes(12).toString('hex')}`
          session = {
            id,
            url: `https://checkout.stripe.com/c/pay/${id}`,
            donationId: form.get('metadata[donation_id]'),
            amountMinor: Number(form.get('line_items[0][price_data][unit_amount]')),
            currency: form.get('line_items[0][price_data][currency]') ?? '',
          }
          sessionsByKey.set(key, session)
          state.sessions.set(id, session)
        }
        return json(200, {
          id: session.id,
          object: 'checkout.session',
          url: session.url,
          mode: form.get('mode'),
          client_reference_id: form.get('client_reference_id'),
          metadata: { donation_id: session.donationId },
          amount_total: session.amountMinor,
          currency: session.currency,
          payment_status: 'unpaid',
          status: 'open',
        })
      }
      if (request.method === 'POST' && url.pathname === '/v1/refunds') {
        const amountMinor = Number(form.get('amount') ?? 0)
        const paymentIntent = form.get('payment_intent')
        state.refundRequests.push({ paymentIntent, amountMinor, idempotencyKey })
        const key = idempotencyKey ?? randomUUID()
        const refund = state.refunds.get(key) ?? { id: `re_${randomBytes(8).toString('hex')}`, paymentIntent, amountMinor }
        state.refunds.set(key, refund)
        return json(200, { id: refund.id, object: 'refund', amount: refund.amountMinor, payment_intent: paymentIntent, status: 'succeeded' })
      }
      if (request.method === 'GET' && url.pathname === '/v1/events') {
        return json(200, { object: 'list', data: [], has_more: false, url: '/v1/events' })
      }
    }

    if (host === 'api.resend.com' && request.method === 'POST' && url.pathname === '/emails') {
      const email = JSON.parse(body) as { to?: unknown; subject?: unknown }
      state.emails.push({ idempotencyKey, to: email.to, subject: email.subject })
      return json(200, { id: randomUUID() })
    }

    state.unexpected.push(`${request.method} ${String(host)}${url.pathname}`)
    json(404, { error: { type: 'invalid_request_error', message: 'Not played by the fake far end' } })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}
