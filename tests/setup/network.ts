import { afterAll, afterEach } from 'vitest'
import { server, startNetworkMocks } from '#tests/mocks/node.ts'

startNetworkMocks()
afterEach(() => server.resetHandlers())
afterAll(() => server.close())
