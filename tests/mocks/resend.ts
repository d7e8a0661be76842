import { randomUUID } from 'node:crypto'
import { http, HttpResponse } from 'msw'

/** The far end of Resend's HTTP API: accepts every email and remembers what it was sent. */
export type ResendCall = { idempotencyKey: string | null; body: Record<string, unknown>; status: number }

export const RESEND_EMAILS_URL = 'https://api.resend.com/emails'
export const RESEND_BATCH_URL = 'https://api.resend.com/emails/batch'

export const resendCalls: ResendCall[] = []

export function clearResendCalls() {
  resendCalls.length = 0
  resendBatchCalls.length = 0
}

export async function recordResendCall(request: Request, status: number) {
  const body = (await request.clone().json()) as Record<string, unknown>
  resendCalls.push({ idempotencyKey: request.headers.get('idempotency-key'), body, status })
}

/** Batch requests (the body is the array of emails); tests that need more use FakeResend. */
export type ResendBatchCall = { idempotencyKey: string | null; emails: Record<string, unknown>[] }
export const resendBatchCalls: ResendBatchCall[] = []

export const resendHandlers = [
  http.post(RESEND_EMAILS_URL, async ({ request }) => {
    await recordResendCall(request, 200)
    return HttpResponse.json({ id: randomUUID() })
  }),
  http.post(RESEND_BATCH_URL, async ({ request }) => {
    const emails = (await request.json()) as Record<string, unknown>[]
    resendBatchCalls.push({ idempotencyKey: request.headers.get('idempotency-key'), emails })
    return HttpResponse.json({ data: emails.map(() => ({ id: randomUUID() })), errors: [] })
  }),
]
