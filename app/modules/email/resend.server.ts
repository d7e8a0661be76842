import { Resend } from 'resend'
import type { BatchItemResult, BatchSendResult, EmailSender, OutgoingBatch, OutgoingEmail, SendResult } from './sending.ts'

/**
 * The one module that talks to Resend. It turns Resend's answers into three outcomes: sent,
 * retry later (rate limits, Resend's own faults, the network, a concurrent request with the same
 * idempotency key) or a permanent failure (a bad address, a validation error). A batch request's
 * answer also says which of its emails Resend refused, whether it refused the request whole, and
 * whether it had already accepted the key with other content (sending.ts).
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
          ...resendEmail(email),
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

    /**
     * Up to 100 emails in one request (POST /emails/batch). Permissive validation: Resend sends
     * the valid emails and lists the invalid ones by index, so one bad address does not hold up
     * the other 99. The key is the batch's, derived from its stored membership.
     */
    async sendBatch(batch: OutgoingBatch): Promise<BatchSendResult> {
      const { data, error, headers } = await resend.batch.send(batch.emails.map(resendEmail), {
        idempotencyKey: batch.idempotencyKey,
        batchValidation: 'permissive',
        signal: AbortSignal.timeout(timeoutMs),
      })
      if (data && !error) return { kind: 'sent', results: batchResults(batch.emails.length, data.data, data.errors ?? []) }
      const status = error?.statusCode ?? null
      const name = error?.name ?? 'unknown_error'
      if (status === 409 && name === 'invalid_idempotent_request') return { kind: 'already-accepted', error: describeResendError(error) }
      if (status === 400 || status === 422) return { kind: 'invalid', error: describeResendError(error) }
      return classifyResendError(error, headers ?? null)
    },
  }
}

/** The fields both endpoints take (the batch endpoint takes no attachments). */
function resendEmail(email: OutgoingEmail) {
  return {
    from: email.from,
    ...(email.replyTo ? { replyTo: email.replyTo } : {}),
    to: [email.to],
    subject: email.subject,
    html: email.html,
    text: email.text,
    ...(email.headers && Object.keys(email.headers).length > 0 ? { headers: email.headers } : {}),
  }
}

/**
 * Resend's answer in request order. With permissive validation `data` lists the ids of the
 * emails it accepted, in order, and `errors` the index of each it refused; if the two do not add
 * up (a change on Resend's side), the accepted ones are still sent, without ids to match
 * delivery reports against, rather than guessed.
 */
export function batchResults(count: number, accepted: { id: string }[], refused: { index: number; message: string }[]): BatchItemResult[] {
  const errors = new Map(refused.map((item) => [item.index, item.message]))
  const acceptedIndexes = Array.from({ length: count }, (_, index) => index).filter((index) => !errors.has(index))
  const idsLineUp = accepted.length === acceptedIndexes.length
  let next = 0
  return Array.from({ length: count }, (_, index) => {
    const message = errors.get(index)
    if (message !== undefined) return { outcome: 'failed' as const, error: `422 validation_error: ${message}` }
    const id = accepted[next++]?.id
    return { outcome: 'sent' as const, providerMessageId: idsLineUp && id ? id : null }
  })
}

type ResendError = { name?: string; message?: string; statusCode?: number | null } | null

function describeResendError(error: ResendError) {
  return `${error?.statusCode ?? 'network'} ${error?.name ?? 'unknown_error'}: ${error?.message ?? 'no message'}`
}

export function classifyResendError(
  error: ResendError,
  headers: Record<string, string> | null,
): Extract<SendResult, { kind: 'retry' | 'failed' }> {
  const status = error?.statusCode ?? null
  const name = error?.name ?? 'unknown_error'
  const description = describeResendError(error)
  const retryAfterMs = parseRetryAfter(headers?.['retry-after'])
  if (status === null) return { kind: 'retry', error: description }
  if (status === 429) return { kind: 'retry', error: description, retryAfterMs, rateLimited: true }
  if (status >= 500) return { kind: 'retry', error: description, retryAfterMs }
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
