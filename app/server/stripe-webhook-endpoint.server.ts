import type http from 'node:http'
import { receiveStripeWebhook, STRIPE_WEBHOOK_MAX_BYTES } from '#app/modules/payments/stripe-webhook.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { machineResponseHeaders } from '#app/utils/security-headers.server.ts'

const PATH = '/webhooks/stripe'

/**
 * Stripe's webhook answered by the HTTP server itself, before Express and Remix: intake is one
 * signature check and one INSERT (docs/decisions/014), and the framework's work per request was
 * most of its cost at a fundraising dinner's rate (docs/decisions/019). The same function as the
 * route (`receiveStripeWebhook`) decides the answer; the route stays for anything that reaches
 * Remix directly. Called after the request guards, which have already refused a POST without a
 * Content-Length or with one over the limit; the limit is counted again while reading.
 *
 * Returns false, touching nothing, for any other request.
 */
export function answerStripeWebhook(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  options: { production: boolean; log: (status: number) => void },
): boolean {
  if (request.method !== 'POST') return false
  const url = request.url ?? ''
  const queryAt = url.indexOf('?')
  if ((queryAt === -1 ? url : url.slice(0, queryAt)) !== PATH) return false

  const headers = machineResponseHeaders({ production: options.production })
  const answer = (status: number, message: string) => {
    if (response.headersSent) return
    const body = JSON.stringify({ message })
    response.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
    response.end(body)
    options.log(status)
  }
  const chunks: Buffer[] = []
  let received = 0
  let refused = false
  request.on('data', (chunk: Buffer) => {
    if (refused) return
    received += chunk.length
    if (received > STRIPE_WEBHOOK_MAX_BYTES) {
      refused = true
      response.setHeader('Connection', 'close')
      answer(413, `The request body is larger than ${STRIPE_WEBHOOK_MAX_BYTES / (1024 * 1024)} MB`)
      request.resume()
      return
    }
    chunks.push(chunk)
  })
  request.on('error', () => {
    refused = true
    response.destroy()
  })
  request.on('end', () => {
    if (refused) return
    const signature = request.headers['stripe-signature']
    receiveStripeWebhook(getDb(), Buffer.concat(chunks).toString('utf8'), typeof signature === 'string' ? signature : null)
      .then((result) => answer(result.status, result.message))
      .catch(() => answer(500, 'Could not store the event'))
  })
  return true
}
