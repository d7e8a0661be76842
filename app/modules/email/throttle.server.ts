/**
 * Keeps one worker process under the email provider's request rate (`EMAIL_RATE_PER_SECOND`;
 * Resend allows 2 requests a second per team by default). One throttle serves both ways of
 * sending: a single email and a batch of up to 100 are one request each, and Resend counts them
 * alike. Calls beyond the rate wait their turn rather than fail.
 *
 * - **Single emails first.** A receipt or a sign-in link waiting beside a bulk send goes at the next
 *   turn, ahead of the batches: someone is waiting for it, while an appeal update to ten thousand
 *   people can start a second later.
 * - **A 429 pauses everyone.** Resend's limit is per team, so when it answers 429 with Retry-After
 *   no request from this process goes before then; the others would only be refused too.
 * - **A sliding window**, not fixed slots: never more than the rate's whole number of requests in
 *   any window of their length, plus a small allowance for a request reaching Resend a little later
 *   than its turn (serialising 100 emails, a busy event loop), so that Resend, whatever its own
 *   window, never counts two turns in one.
 */

export type ThrottleLane = 'single' | 'batch'

export type Throttle = {
  /** Resolves at this caller's turn. */
  wait: (lane?: ThrottleLane) => Promise<void>
  /** No turn before `ms` from now (Resend's Retry-After). */
  pause: (ms: number) => void
}

/** How much later than its turn a request may reach the provider and still count in its own window. */
export const THROTTLE_ALLOWANCE_MS = 50

export function createThrottle(perSecond: number): Throttle {
  if (perSecond <= 0) return { wait: async () => {}, pause: () => {} }
  // Whole turns per window: 2/s is 2 in any 1,000 ms (+ the allowance); 0.5/s is 1 in 2,000 ms.
  const turns = Math.max(1, Math.floor(perSecond))
  const windowMs = (turns / perSecond) * 1000 + THROTTLE_ALLOWANCE_MS
  const granted: number[] = []
  const waiting: Record<ThrottleLane, (() => void)[]> = { single: [], batch: [] }
  let pausedUntil = 0
  let timer: ReturnType<typeof setTimeout> | null = null

  function pump() {
    timer = null
    for (;;) {
      const next = waiting.single[0] ?? waiting.batch[0]
      if (!next) return
      const now = Date.now()
      while (granted.length > 0 && granted[0]! <= now - windowMs) granted.shift()
      const at = Math.max(pausedUntil, granted.length < turns ? now : granted[0]! + windowMs)
      if (at > now) {
        timer = setTimeout(pump, at - now)
        return
      }
      granted.push(now)
      ;(waiting.single.length > 0 ? waiting.single : waiting.batch).shift()!()
    }
  }

  return {
    wait(lane = 'single') {
      return new Promise<void>((resolve) => {
        waiting[lane].push(resolve)
        if (!timer) pump()
      })
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, Date.now() + ms)
      if (timer) {
        clearTimeout(timer)
        pump()
      }
    },
  }
}
