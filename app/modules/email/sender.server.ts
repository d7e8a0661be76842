import type { Database } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { createDevMailboxSender } from './dev-mailbox.server.ts'
import { createResendSender } from './resend.server.ts'
import type { EmailSender, OutgoingEmail, SendResult } from './sending.ts'

export type { EmailSender, OutgoingEmail, SendResult }

/**
 * Resend when a key is set; otherwise (never in production, which refuses to start without the
 * key) the development mailbox at /dev/mailbox.
 */
export function getEmailSender(db: Database): EmailSender {
  const env = getEnv()
  if (env.RESEND_API_KEY) return createResendSender(env.RESEND_API_KEY)
  return createDevMailboxSender(db)
}

export function isDevMailboxEnabled() {
  const env = getEnv()
  return !env.RESEND_API_KEY && env.NODE_ENV !== 'production'
}
