import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible'

export type Throttle = { wait: () => Promise<void> }

/**
 * Keeps one worker process under the email provider's request rate (Resend allows 2 a second by
 * default). Calls beyond the rate wait their turn in a queue rather than failing.
 */
export function createThrottle(perSecond: number): Throttle {
  if (perSecond <= 0) return { wait: async () => {} }
  // Whole tokens per window: 2/s is 2 per 1000 ms; 0.5/s is 1 per 2000 ms.
  const points = Math.max(1, Math.floor(perSecond))
  const durationSeconds = points / perSecond
  const limiter = new RateLimiterMemory({ points, duration: durationSeconds })
  const queue = new RateLimiterQueue(limiter, { maxQueueSize: 100_000 })
  return {
    async wait() {
      await queue.removeTokens(1)
    },
  }
}
