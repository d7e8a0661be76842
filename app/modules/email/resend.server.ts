import { Resend } from 'resend'
import type { EmailSender, OutgoingEmail, SendResult } from './sending.ts'

/**
 * The one module that talks to Resend. It turns Resend's answers into three outcomes: sent,
 * retry later (rate limits, Resend's own faults, the network, a concurrent request with the same
 * idempotency key) or a permanent failure (a bad address, a validation error).
 */
/**
 * A send that has not been answered by then is given up and retried later: a Resend that hangs
 * would otherwise hold a worker slot for minutes, and with two slots email would all but stop.
 */
export const RESEND_TIMEOUT_MS = 30_000

export function createResendSender(apiKey: string, options: { timeoutMs?: number } = {}): EmailSender {
  const resend = new Resend(apiKey)
  const timeoutMs = options.timeoutMs ?? RESEND_TIMEOUT_MS
  return {
    name: 'resend',
    async send(email: OutgoingEmail): Promise<SendResult> {
      const { data, error, headers } = await resend.emails.send(
        {
          from: email.from,
          ...(email.replyTo ? { replyTo: email.replyTo } : {}),
          to: [email.to],
          subject: email.subject,
          html: email.html,
          text: email.text,
          ...(email.headers && Object.keys(email.headers).length > 0 ? { headers: email.headers } : {}),
          attachments: email.attachments?.map((attachment) => ({
            filename: attachment.filename,
            content: attachment.contentBase64,
            contentType: attachment.contentType,
          })),
        },
        // Resend keeps a key for 24 hours: every retry of one email carries the same key.
        // (The SDK answers an aborted request as a network error, which is retried.)
        { idempotencyKey: email.idempotencyKey, signal: AbortSignal.timeout(timeoutMs) },
      )
      if (data && !error) return { kind: 'sent', providerMessageId: data.id }
      return classifyResendError(error, headers ?? null)
    },
  }
}

type ResendError = { name?: string; message?: string; statusCode?: number | null } | null

export function classifyResendError(error: ResendError, headers: Record<string, string> | null): SendResult {
  const status = error?.statusCode ?? null
  const name = error?.name ?? 'unknown_error'
  const description = `${status ?? 'network'} ${name}: ${error?.message ?? 'no message'}`
  const retryAfterMs = parseRetryAfter(headers?.['retry-after'])
  if (status === null) return { kind: 'retry', error: description }
  if (status === 429 || status >= 500) return { kind: 'retry', error: description, retryAfterMs }
  if (status === 409 && name === 'concurrent_idempotent_requests') {
    return { kind: 'retry', error: description, retryAfterMs }
  }
  return { kind: 'failed', error: description }
}

/** `Retry-After` is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export type ResendWebhookEvent = {
  type: string
  created_at?: string
  data: { email_id?: string; to?: string[] | string; [key: string]: unknown }
}

/**
 * Checks a Resend (Svix) webhook signature over the raw body; throws when it does not match or
 * is too old.
 */
export function verifyResendWebhook(
  payload: string,
  headers: { id: string; timestamp: string; signature: string },
  webhookSecret: string,
): ResendWebhookEvent {
  const resend = new Resend('re_webhook_verification_only')
  return resend.webhooks.verify({ payload, headers, webhookSecret }) as unknown as ResendWebhookEvent
}
