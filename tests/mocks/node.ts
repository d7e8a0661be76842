import { setupServer } from 'msw/node'
import { handlers } from './handlers.ts'

export const server = setupServer(...handlers)

/** Our own servers on loopback may be called; anything else that is not mocked is an error. */
export function isLoopback(url: URL) {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
}

export function startNetworkMocks() {
  server.listen({
    onUnhandledRequest(request, print) {
      if (isLoopback(new URL(request.url))) return
      print.error()
    },
  })
}
