/**
 * A second web server for the payments model test on PostgreSQL (issue 12): another Node process,
 * with its own connection pool and its own wake-ups, serving the same webhook route against the
 * same database, as a second instance behind a load balancer would. Run by the test with
 * `node --import tsx tests/integration/second-web-server.ts`; it prints `listening <port>` once
 * ready and stops on SIGTERM. Only POST /webhooks/stripe is served: that is all Stripe calls.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { stripeWakeSettled } from '#app/modules/payments/stripe-inbox.server.ts'
import { action as stripeWebhook } from '#app/routes/webhooks.stripe.ts'
import { closeDb } from '#app/utils/db.server.ts'

const server = http.createServer((incoming, outgoing) => {
  const chunks: Buffer[] = []
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
  incoming.on('end', () => {
    if (incoming.method !== 'POST' || incoming.url !== '/webhooks/stripe') {
      outgoing.writeHead(404).end()
      return
    }
    const headers = new Headers()
    for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === 'string') headers.set(name, value)
    const request = new Request(`http://127.0.0.1${incoming.url}`, { method: 'POST', headers, body: Buffer.concat(chunks) })
    stripeWebhook({ request, params: {}, context: {} })
      .then(async (response) => {
        outgoing.writeHead(response.status, Object.fromEntries(response.headers))
        outgoing.end(await response.text())
      })
      .catch((error: unknown) => {
        outgoing.writeHead(500).end(String(error))
      })
  })
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`)
})

process.on('SIGTERM', () => {
  server.close(() => {
    void stripeWakeSettled()
      .then(() => closeDb())
      .finally(() => process.exit(0))
  })
})
