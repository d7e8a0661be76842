/// <reference types="@remix-run/dev" />
import '@remix-run/node'

declare module '@remix-run/node' {
  interface Future {
    v3_singleFetch: true
  }
  interface AppLoadContext {
    /** The nonce this response's Content-Security-Policy allows scripts with (app/server/index.ts). */
    cspNonce?: string
  }
}
