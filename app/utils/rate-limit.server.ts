import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { getDatabaseUrl, createPool } from './db.server.ts'
import { getEnv } from './env.server.ts'
import { singleton } from './singleton.server.ts'

export type RateLimitResult = { allowed: true } | { allowed: false; retryAfterSeconds: number }

type LimiterOptions = { keyPrefix: string; points: number; durationSeconds: number }

/**
 * Counters in memory for one instance, or in PostgreSQL (rate-limiter-flexible's own table) when
 * several web servers share the work: then a client cannot spread attempts across them.
 */
function limiter(options: LimiterOptions): Promise<RateLimiterAbstract> {
  return singleton(`rate-limiter:${options.keyPrefix}`, async () => {
    const settings = { keyPrefix: options.keyPrefix, points: options.points, duration: options.durationSeconds }
    if (getEnv().RATE_LIMIT_STORE === 'memory') return new RateLimiterMemory(settings)
    const pool = createPool(await getDatabaseUrl(), 2)
    return new Promise<RateLimiterAbstract>((resolve, reject) => {
      const store: RateLimiterPostgres = new RateLimiterPostgres(
        { ...settings, storeClient: pool, storeType: 'pool', tableName: 'rate_limits' },
        (error?: Error) => (error ? reject(error) : resolve(store)),
      )
    })
  })
}

export async function consumeRateLimit(options: LimiterOptions, key: string): Promise<RateLimitResult> {
  try {
    await (await limiter(options)).consume(key)
    return { allowed: true }
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) }
    }
    throw rejection
  }
}

/** Checkout sessions per client address: stops a script trying stolen cards through our form. */
export function checkoutRateLimit(): LimiterOptions {
  return { keyPrefix: 'checkout', points: getEnv().CHECKOUT_RATE_LIMIT, durationSeconds: 10 * 60 }
}
