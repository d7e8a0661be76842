import { createHash } from 'node:crypto'
import { data } from '@remix-run/node'
import type pg from 'pg'
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { getDatabaseUrl, createPool } from './db.server.ts'
import { isEmbeddedDatabaseUrl } from './embedded-database.server.ts'
import { getEnv } from './env.server.ts'
import { singleton, takeSingleton } from './singleton.server.ts'

export type RateLimitResult = { allowed: true } | { allowed: false; retryAfterSeconds: number }

export type LimiterOptions = { keyPrefix: string; points: number; durationSeconds: number }

const MINUTE = 60

/** The most any limit may allow: the settings' ceiling, and staff's for one event. */
export const RATE_LIMIT_MAX = 10_000

/**
 * Every limit in one place: how many attempts a key (a client address unless said otherwise) may
 * make in how long. Generous enough that a person, or a household behind one address, never meets
 * one; tight enough that a script gets little done. The checkout and registration limits are
 * settings: a room of donors or a table of ten at a dinner shares one address (so they are
 * generous by default), and card testing is where an organisation may need to tighten it.
 */
const LIMITS = {
  /** Checkout Sessions started (card-testing defence). */
  checkout: () => ({ points: getEnv().CHECKOUT_RATE_LIMIT, durationSeconds: 10 * MINUTE }),
  /** Event registrations that reach the database. */
  registration: () => ({ points: getEnv().REGISTRATION_RATE_LIMIT, durationSeconds: 10 * MINUTE }),
  /**
   * Registrations for one event whose staff raised its limit (`events.registration_rate_limit`):
   * counted per event and address, apart from `registration`, and allowed up to the event's own
   * number (`checkRaisedRateLimit`), so raising one dinner's limit raises no other event's.
   */
  'event-registration': () => ({ points: RATE_LIMIT_MAX, durationSeconds: 10 * MINUTE }),
  /** Saves and unsaves of events. */
  'save-event': () => ({ points: 60, durationSeconds: 10 * MINUTE }),
  /** Saved-events links asked for, per address, and per email address (inbox flooding). */
  'saver-link-ip': () => ({ points: 10, durationSeconds: 60 * MINUTE }),
  'saver-link-email': () => ({ points: 3, durationSeconds: 60 * MINUTE }),
  /** Saved-events links confirmed, per address. */
  'saver-link-confirm': () => ({ points: 20, durationSeconds: 10 * MINUTE }),
  /** Wrong addresses typed for one link (keyed by the link's hash) before it is spent; an hour is the link's life. */
  'saver-link-wrong-address': () => ({ points: 5, durationSeconds: 60 * MINUTE }),
  /**
   * The pages behind signed links in emails (stop a monthly gift, stop appeal updates, turn off
   * alerts, cancel or claim a place): a guessed signature cannot succeed, but every guess costs.
   */
  'signed-link': () => ({ points: 30, durationSeconds: 10 * MINUTE }),
  /**
   * Staff sign-in, per client address only (spraying many accounts): only failures count, since a
   * success gives its point back (docs/decisions/020). Per account, wrong passwords slow down that
   * account from that address alone (modules/staff/sign-in-throttle), which never locks anyone out.
   */
  'staff-password-ip': () => ({ points: 100, durationSeconds: 15 * MINUTE }),
  /** Sign-in links asked for, per address; the email itself goes at most every few minutes per account. */
  'staff-link-ip': () => ({ points: 30, durationSeconds: 15 * MINUTE }),
  /** Sign-in links opened that did not work, per address. */
  'staff-link-verify': () => ({ points: 20, durationSeconds: 15 * MINUTE }),
  /** Second-factor codes that were wrong, per address (each sign-in also allows only a few). */
  'staff-code-ip': () => ({ points: 30, durationSeconds: 15 * MINUTE }),
} satisfies Record<string, () => Omit<LimiterOptions, 'keyPrefix'>>

export type RateLimitName = keyof typeof LIMITS

export function rateLimit(name: RateLimitName): LimiterOptions {
  return { keyPrefix: name, ...LIMITS[name]() }
}

const TABLE = 'rate_limits'

/**
 * A pool for the store. rate-limiter-flexible names its statements, which PostgreSQL prepares
 * once per connection; where a connection is not a session of its own (the embedded database
 * serves every connection from one session, a transaction-mode pooler hands out whichever it has)
 * a second connection would find the name taken, so there the names are dropped.
 */
export function createRateLimitPool(url: string): pg.Pool {
  const pool = createPool(url, 2)
  if (isEmbeddedDatabaseUrl(url) || !getEnv().DATABASE_PREPARED_STATEMENTS) {
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown
      client.query = ((config: unknown, ...rest: unknown[]) => {
        if (config && typeof config === 'object' && 'name' in config) {
          const { name: _name, ...unnamed } = config as Record<string, unknown>
          return query(unnamed, ...rest)
        }
        return query(config, ...rest)
      }) as typeof client.query
    })
  }
  return pool
}

/** One small pool for every limiter of this process, and the table made once. */
function store(): Promise<pg.Pool> {
  return retryable('rate-limit-store', async () => {
    const pool = createRateLimitPool(await getDatabaseUrl())
    // Several servers starting together may race to create the table; the loser tries again.
    for (let attempt = 1; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          // Only this one clears expired rows (of every limiter) each hour.
          new RateLimiterPostgres(
            { keyPrefix: 'table', points: 1, duration: 1, storeClient: pool, storeType: 'pool', tableName: TABLE, clearExpiredByTimeout: true },
            (error?: Error) => (error ? reject(error) : resolve()),
          )
        })
        return pool
      } catch (error) {
        if (attempt >= 3) {
          await pool.end().catch(() => {})
          throw error
        }
      }
    }
  })
}

/** Like `singleton`, but a failure is not kept: the next call tries again. */
function retryable<Value>(name: string, create: () => Promise<Value>): Promise<Value> {
  return singleton(name, () =>
    create().catch((error: unknown) => {
      takeSingleton(name)
      throw error
    }),
  )
}

/**
 * A limiter with its own counters in memory, or one that shares PostgreSQL's with every other
 * limiter of its prefix: then a client cannot spread attempts across several web servers. Tests
 * pass a pool of their own to stand for a second server.
 */
export async function createRateLimiter(options: LimiterOptions, pool?: pg.Pool): Promise<RateLimiterAbstract> {
  const settings = { keyPrefix: options.keyPrefix, points: options.points, duration: options.durationSeconds }
  if (getEnv().RATE_LIMIT_STORE === 'memory' && !pool) return new RateLimiterMemory(settings)
  const storeClient = pool ?? (await store())
  if (pool) await store()
  return new RateLimiterPostgres({
    ...settings,
    storeClient,
    storeType: 'pool',
    tableName: TABLE,
    tableCreated: true,
    clearExpiredByTimeout: false,
  })
}

function limiter(options: LimiterOptions): Promise<RateLimiterAbstract> {
  return retryable(`rate-limiter:${options.keyPrefix}`, () => createRateLimiter(options))
}

/**
 * Keys are hashed: an email address or a client address is personal data, and the store (a table
 * when shared) has no need to read it back; a hash also fits the table's key column at any length.
 */
export function rateLimitKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url')
}

/** The row key a named limit keeps for `key` in the shared table (for erasing it). */
export function storedRateLimitKey(name: RateLimitName, key: string): string {
  return `${name}:${rateLimitKey(key)}`
}

export async function consumeRateLimit(options: LimiterOptions, key: string): Promise<RateLimitResult> {
  return consumeWith(await limiter(options), key)
}

/** Takes one point for `key`; with `allowed`, refuses past that many points (at most the limiter's own). */
export async function consumeWith(limiter: RateLimiterAbstract, key: string, allowed?: number): Promise<RateLimitResult> {
  try {
    const taken = await limiter.consume(rateLimitKey(key))
    if (allowed !== undefined && taken.consumedPoints > allowed) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(taken.msBeforeNext / 1000)) }
    }
    return { allowed: true }
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) }
    }
    throw rejection
  }
}

/** Gives back the point an attempt took: a success is never counted against anyone. */
export async function refundRateLimit(name: RateLimitName, key: string): Promise<void> {
  await (await limiter(rateLimit(name))).reward(rateLimitKey(key), 1)
}

/** Takes one attempt from a named limit. */
export function checkRateLimit(name: RateLimitName, key: string): Promise<RateLimitResult> {
  return consumeRateLimit(rateLimit(name), key)
}

/**
 * Takes one attempt from a named limit whose counter allows up to RATE_LIMIT_MAX, refusing past
 * `points` instead: the limit staff chose for one event, counted under that limiter's own prefix.
 */
export async function checkRaisedRateLimit(name: RateLimitName, key: string, points: number): Promise<RateLimitResult> {
  const options = rateLimit(name)
  return consumeWith(await limiter(options), key, Math.min(points, options.points))
}

/** Checkout sessions per client address: stops a script trying stolen cards through our form. */
export function checkoutRateLimit(): LimiterOptions {
  return rateLimit('checkout')
}

/** What a person is told when refused: what happened and when to try again. */
export function rateLimitMessage(retryAfterSeconds: number): string {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60))
  return `Too many attempts from your connection. Please try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}.`
}

export function rateLimitHeaders(retryAfterSeconds: number): Record<string, string> {
  return { 'Retry-After': String(retryAfterSeconds), 'Cache-Control': 'no-store' }
}

/**
 * A page's refusal: 429, Retry-After, and `{ rateLimited }` with the words to show above its form.
 * Nothing has been written when an action returns this.
 */
export function rateLimitedReply(retryAfterSeconds: number) {
  return data({ rateLimited: rateLimitMessage(retryAfterSeconds) }, { status: 429, headers: rateLimitHeaders(retryAfterSeconds) })
}

/** Closes the shared store's pool (tests; the process's end does it otherwise). */
export async function closeRateLimitStore() {
  const pool = takeSingleton<Promise<pg.Pool>>('rate-limit-store')
  for (const name of Object.keys(LIMITS)) takeSingleton(`rate-limiter:${name}`)
  if (pool) await (await pool.catch(() => undefined))?.end()
}
