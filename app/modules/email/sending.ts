import type { EmailAttachment } from '#db/schema.ts'

/**
 * What every way of sending an email (Resend, the development mailbox) takes and answers. Kept
 * apart from sender.server.ts, which picks one of them, so that neither imports the picker.
 */

export type OutgoingEmail = {
  from: string
  replyTo?: string
  to: string
  subject: string
  html: string
  text: string
  attachments?: EmailAttachment[]
  /** Extra headers: `List-Unsubscribe` and `List-Unsubscribe-Post` on news and alerts. */
  headers?: Record<string, string>
  /** `<kind>/<entity id>`: the same for every attempt at one email. */
  idempotencyKey: string
  outboxId?: string
}

export type SendResult =
  | { kind: 'sent'; providerMessageId: string }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'failed'; error: string }

export type EmailSender = { name: 'resend' | 'dev-mailbox'; send: (email: OutgoingEmail) => Promise<SendResult> }
