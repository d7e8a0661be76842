import { createHash, randomUUID } from 'node:crypto'
import { http, type RequestHandler } from 'msw'

/**
 * The far end of Resend's HTTP API, answering as Resend documents it, for the tests (through
 * msw) and for `npm run bench:email` (as a real HTTP server, bench/fake-resend-server.ts):
 *
 * - POST /emails and POST /emails/batch (at most 100, no attachments), each one request against a
 *   rate limit of `ratePerSecond` requests in any second; beyond it 429 `rate_limit_exceeded`
 *   with `retry-after` in whole seconds and the `ratelimit-*` headers.
 * - Idempotency keys: the same key with the same body answers what it answered the first time
 *   and sends nothing; with another body, 409 `invalid_idempotent_request`; while the first is
 *   still being answered, 409 `concurrent_idempotent_requests`.
 * - Batch validation (`x-batch-validation`): `strict` (the default) refuses the whole batch with
 *   422 when one email is invalid; `permissive` sends the valid ones and lists the others by index.
 *
 * `sent` is every email it actually sent, once each: what a recipient would receive.
 */

export type FakeEmail = { from: string; to: string[]; subject: string; html?: string; text?: string; headers?: Record<string, string>; reply_to?: string }
export type SentEmail = { id: string; to: string; subject: string; headers: Record<string, string>; requestKey: string | null; batch: boolean; at: number }
export type FakeRequest = { path: '/emails' | '/emails/batch'; status: number; idempotencyKey: string | null; size: number; validation: string | null; at: number }

export type FakeResendOptions = {
  /** Requests allowed in any 1,000 ms; 0 for no limit. */
  ratePerSecond?: number
  /** The window of the rate limit: 1,000 ms, or less to forgive requests that arrive late (a loaded test machine). */
  windowMs?: number
  /** How long each answer takes. */
  latencyMs?: number
  /** A reason to refuse one email (validation), or null to accept it. */
  invalid?: (email: FakeEmail) => string | null
  /** A reason to refuse a whole batch request with 422 whatever its validation mode, or null. */
  refuseBatch?: (emails: FakeEmail[]) => string | null
}

const EMAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/

export class FakeResend {
  readonly sent: SentEmail[] = []
  readonly requests: FakeRequest[] = []
  /** Requests answered from an earlier one with the same key and body: nothing sent again. */
  replays = 0
  private readonly recent: number[] = []
  private readonly keys = new Map<string, { digest: string; answer: { status: number; body: unknown } | null }>()

  constructor(private readonly options: FakeResendOptions = {}) {}

  /** msw handlers for api.resend.com. */
  handlers(): RequestHandler[] {
    return [
      http.post('https://api.resend.com/emails', ({ request }) => this.handle(request)),
      http.post('https://api.resend.com/emails/batch', ({ request }) => this.handle(request)),
    ]
  }

  /** How many times each address was sent an email. */
  timesSent(): Map<string, number> {
    const times = new Map<string, number>()
    for (const email of this.sent) times.set(email.to, (times.get(email.to) ?? 0) + 1)
    return times
  }

  async handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.endsWith('/batch') ? '/emails/batch' : '/emails'
    const idempotencyKey = request.headers.get('idempotency-key')
    const validation = path === '/emails/batch' ? (request.headers.get('x-batch-validation') ?? 'strict') : null
    // The rate limit counts a request when it arrives, before its body is read.
    const at = Date.now()
    const raw = await request.text()
    const parsed = JSON.parse(raw) as FakeEmail | FakeEmail[]
    const size = Array.isArray(parsed) ? parsed.length : 1
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ path, status, idempotencyKey, size, validation, at })
      return Response.json(body, { status, headers })
    }

    const limited = this.rateLimit(at)
    if (limited) {
      const message = `Too many requests. You can only make ${this.options.ratePerSecond} requests per second.`
      return answer(429, { statusCode: 429, name: 'rate_limit_exceeded', message }, limited)
    }
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs))

    if (idempotencyKey) {
      const digest = createHash('sha256').update(`${path}\n${raw}`).digest('hex')
      const known = this.keys.get(idempotencyKey)
      if (known && known.digest !== digest) {
        return answer(409, { statusCode: 409, name: 'invalid_idempotent_request', message: 'Same idempotency key used with a different request payload.' })
      }
      if (known && !known.answer) {
        return answer(409, { statusCode: 409, name: 'concurrent_idempotent_requests', message: 'Same idempotency key used while original request is still in progress.' })
      }
      if (known?.answer) {
        this.replays += 1
        return answer(known.answer.status, known.answer.body)
      }
      this.keys.set(idempotencyKey, { digest, answer: null })
    }
    const result = Array.isArray(parsed) ? this.batch(parsed, validation, idempotencyKey) : this.single(parsed, idempotencyKey)
    if (idempotencyKey) {
      // Resend keeps the answer to a request it accepted; a refused one may be tried again.
      if (result.status < 300) this.keys.set(idempotencyKey, { ...this.keys.get(idempotencyKey)!, answer: result })
      else this.keys.delete(idempotencyKey)
    }
    return answer(result.status, result.body)
  }

  private rateLimit(at: number): Record<string, string> | null {
    const limit = this.options.ratePerSecond ?? 0
    if (limit <= 0) return null
    const windowMs = this.options.windowMs ?? 1000
    while (this.recent.length > 0 && this.recent[0]! <= at - windowMs) this.recent.shift()
    if (this.recent.length < limit) {
      this.recent.push(at)
      return null
    }
    const resetMs = this.recent[0]! + windowMs - at
    const seconds = String(Math.max(1, Math.ceil(resetMs / 1000)))
    return { 'retry-after': seconds, 'ratelimit-limit': String(limit), 'ratelimit-remaining': '0', 'ratelimit-reset': seconds }
  }

  private single(email: FakeEmail, requestKey: string | null) {
    const problem = this.problem(email)
    if (problem) return { status: 422, body: { statusCode: 422, name: 'validation_error', message: problem } }
    return { status: 200, body: { id: this.send(email, requestKey, false) } }
  }

  private batch(emails: FakeEmail[], validation: string | null, requestKey: string | null) {
    const refused = emails.length > 100 ? 'Too many emails in the batch: the limit is 100.' : (this.options.refuseBatch?.(emails) ?? null)
    if (refused) return { status: 422, body: { statusCode: 422, name: 'validation_error', message: refused } }
    const problems = emails.map((email) => this.problem(email))
    if (validation !== 'permissive') {
      const first = problems.findIndex((problem) => problem !== null)
      if (first >= 0) return { status: 422, body: { statusCode: 422, name: 'validation_error', message: `emails[${first}]: ${problems[first]}` } }
    }
    const data = emails.flatMap((email, index) => (problems[index] ? [] : [{ id: this.send(email, requestKey, true) }]))
    const errors = problems.flatMap((message, index) => (message ? [{ index, message }] : []))
    return { status: 200, body: validation === 'permissive' ? { data, errors } : { data } }
  }

  private problem(email: FakeEmail): string | null {
    const to = Array.isArray(email.to) ? email.to : [email.to]
    if (to.length === 0 || to.some((address) => !EMAIL_ADDRESS.test(address))) return 'Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.'
    if (!email.subject || !email.from) return 'Missing `subject` or `from` field.'
    return this.options.invalid?.(email) ?? null
  }

  private send(email: FakeEmail, requestKey: string | null, batch: boolean) {
    const id = randomUUID()
    const to = Array.isArray(email.to) ? email.to : [email.to]
    const at = Date.now()
    for (const address of to) this.sent.push({ id, to: address, subject: email.subject, headers: email.headers ?? {}, requestKey, batch, at })
    return id
  }
}
