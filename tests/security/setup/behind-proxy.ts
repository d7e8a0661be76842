import type { TestProject } from 'vitest/node'
import { startE2eServer } from '#tests/e2e/setup/production-server.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The public address the server is told it has (APP_URL), as a TLS load balancer would serve it. */
    siteUrl: string
  }
}

/** The public address of the server under attack: nothing resolves it; requests name it in Host. */
export const SITE_URL = 'https://donate.example.org'

/**
 * The production build on a free port, configured as production behind one TLS load balancer:
 * APP_URL is the public https address and one proxy hop is trusted. The tests play the load
 * balancer (Host, X-Forwarded-Proto, X-Forwarded-For) and the attacker (anything else).
 */
export default async function setup(project: TestProject) {
  const server = await startE2eServer({
    logName: 'security-server.log',
    env: {
      APP_URL: SITE_URL,
      TRUST_PROXY_HOPS: '1',
      // Long enough that a page cached by one request is still there for the next.
      PAGE_CACHE_SECONDS: '30',
    },
  })
  project.provide('baseUrl', server.baseUrl)
  project.provide('serverLogPath', server.serverLogPath)
  project.provide('siteUrl', SITE_URL)
  return server.teardown
}
