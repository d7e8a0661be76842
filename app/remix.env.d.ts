/// <reference types="@remix-run/dev" />
import '@remix-run/node'

declare module '@remix-run/node' {
  interface Future {
    v3_singleFetch: true
  }
  interface AppLoadContext {
    /** The nonce this response's Content-Security-Policy allows scripts with (app/server/index.ts). */
    cspNonce?: string
    /** Set by entry.server's handleError when the database could not be reached (answered 503). */
    databaseUnavailable?: boolean
  }
}
