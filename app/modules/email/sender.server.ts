import type { EmailAttachment } from '#db/schema.ts'
import type { Database } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { createDevMailboxSender } from './dev-mailbox.server.ts'
import { createResendSender } from './resend.server.ts'

export type OutgoingEmail = {
  from: string
  to: string
  subject: string
  html: string
  text: string
  attachments?: EmailAttachment[]
  /** `<kind>/<entity id>`: the same for every attempt at one email. */
  idempotencyKey: string
  outboxId?: string
}

export type SendResult =
  | { kind: 'sent'; providerMessageId: string }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'failed'; error: string }

export type EmailSender = { name: 'resend' | 'dev-mailbox'; send: (email: OutgoingEmail) => Promise<SendResult> }

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
