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
  | { kind: 'retry'; error: string; retryAfterMs?: number; rateLimited?: boolean }
  | { kind: 'failed'; error: string }

/** One email's fate in a batch request Resend accepted. */
export type BatchItemResult = { outcome: 'sent'; providerMessageId: string | null } | { outcome: 'failed'; error: string }

/**
 * What a batch request comes to. `sent`: the request was accepted, and `results` says, in request
 * order, which emails Resend took and which it refused (permissive validation). `invalid`: the
 * request was refused whole as malformed, so one email in it may be to blame (split it to find
 * out). `already-accepted`: Resend accepted this idempotency key earlier with other content, so
 * those emails went then. `retry` and `failed` as for a single email, for the whole request.
 */
export type BatchSendResult =
  | { kind: 'sent'; results: BatchItemResult[] }
  | { kind: 'retry'; error: string; retryAfterMs?: number; rateLimited?: boolean }
  | { kind: 'invalid'; error: string }
  | { kind: 'already-accepted'; error: string }
  | { kind: 'failed'; error: string }

/** Emails for one batch request: no attachments (Resend's batch endpoint takes none), at most 100. */
export type OutgoingBatch = { emails: OutgoingEmail[]; idempotencyKey: string }

export type EmailSender = {
  name: 'resend' | 'dev-mailbox'
  send: (email: OutgoingEmail) => Promise<SendResult>
  sendBatch: (batch: OutgoingBatch) => Promise<BatchSendResult>
}
