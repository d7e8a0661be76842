import type { RequestHandler } from 'msw'
import { resendHandlers } from './resend.ts'
import { stripeHandlers } from './stripe.ts'

/**
 * Fakes for the far end of the network (the Stripe and Resend HTTP APIs). The tests, the dev
 * server and the e2e run share these handlers; each feature adds its own.
 */
export const handlers: RequestHandler[] = [...resendHandlers, ...stripeHandlers]
