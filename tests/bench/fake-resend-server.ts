import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { FakeResend, type FakeResendOptions } from '#tests/mocks/fake-resend.ts'

/**
 * tests/mocks/fake-resend.ts as a real HTTP server on 127.0.0.1, for a worker in another process
 * (which the SDK reaches through RESEND_BASE_URL). Nothing leaves the machine.
 */
export async function startFakeResendServer(options: FakeResendOptions) {
  const fake = new FakeResend(options)
  const server = createServer((request, response) => {
    fake
      .handle(toRequest(request))
      .then(async (answer) => {
        response.writeHead(answer.status, Object.fromEntries(answer.headers))
        response.end(Buffer.from(await answer.arrayBuffer()))
      })
      .catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ statusCode: 500, name: 'internal_server_error', message: String(error) }))
      })
  })
  // A killed worker's connection closes mid-request: the fake still answers whatever it accepted.
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    fake,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The body streams in, so the fake sees the request when it arrives, not once it is all read. */
function toRequest(request: IncomingMessage) {
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value)
  return new Request(`http://127.0.0.1${request.url ?? '/'}`, {
    method: request.method,
    headers,
    body: request.method === 'POST' ? (Readable.toWeb(request) as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  } as RequestInit)
}
