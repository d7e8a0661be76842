import { z } from 'zod'
import { DEFAULT_TIME_ZONE, isValidTimeZone } from './time-zone.ts'

const booleanFromString = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1')

/** Every variable the app reads. `.env.example` documents each one. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * The interface the server listens on. Unset: this machine only (127.0.0.1) outside production,
   * so nobody on the same Wi-Fi can read the development mailbox and its sign-in links; every
   * interface in production, as a container needs. An IP address or a host name, not a URL.
   */
  HOST: z
    .string()
    .regex(/^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/, 'must be an address such as 127.0.0.1 or 0.0.0.0')
    .optional(),
  /** Public origin, used in links inside emails and for same-origin checks. */
  APP_URL: z.string().url().optional(),
  /** A real PostgreSQL server. When unset the app runs an embedded PGlite database. */
  DATABASE_URL: z.string().url().optional(),
  /** Where the embedded database keeps its files (ignored when DATABASE_URL is set). */
  PGLITE_DIR: z.string().min(1).default('./data/pglite'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** How long a person offered a freed place from the waitlist has to claim it. */
  WAITLIST_OFFER_HOURS: z.coerce.number().int().min(1).max(168).default(24),
  /** How long before an event starts its reminder email goes to everyone confirmed. */
  EVENT_REMINDER_HOURS: z.coerce.number().int().min(1).max(168).default(24),
  /** Days after an event ends that the signed links in its registration emails still open the registration. */
  REGISTRATION_LINK_DAYS_AFTER_EVENT: z.coerce.number().int().min(1).max(3650).default(30),
  /** Days a "stop my monthly gift" link works after the receipt that carried it was sent. */
  MONTHLY_STOP_LINK_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /**
   * Emails the public forms (registrations, "you already have a place", saved-events links) may send
   * to one address that has never been confirmed, in 24 hours; more are not sent (docs/decisions/021).
   */
  UNCONFIRMED_EMAILS_PER_DAY: z.coerce.number().int().min(1).max(1000).default(5),
  /** A paid ticket cancelled by its holder more than this many days before the event is refunded. */
  TICKET_REFUND_DAYS_BEFORE: z.coerce.number().int().min(0).max(365).default(7),
  /** Days after which the personal data of a checkout that never completed is purged (docs/decisions/011). */
  ABANDONED_CHECKOUT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Days after which an anonymous saver ("Save this event") nobody uses is deleted with its saves. */
  SAVER_RETENTION_DAYS: z.coerce.number().int().min(7).max(3650).default(180),
  /** How long an anonymous visitor's appeal page may be served from memory (0 turns it off). */
  PAGE_CACHE_SECONDS: z.coerce.number().int().min(0).max(30).default(2),
  /**
   * Named prepared statements on a real server (parsed and planned once per connection). Turn off
   * behind a connection pooler in transaction mode that cannot keep them (PgBouncer before 1.21).
   */
  DATABASE_PREPARED_STATEMENTS: booleanFromString.default('true'),
  /** Apply pending migrations when the server starts (safe with several instances). */
  MIGRATE_ON_START: booleanFromString.default('true'),
  /** Load the demo data into an empty database when the dev server starts. */
  SEED_ON_START: booleanFromString,
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Card fee the "cover the processing fee" option pays: a percentage plus a fixed part (20 = 20p). */
  /** The organisation's IANA time zone: which day a gift or a closing date falls on, and staff pages' times. */
  TIME_ZONE: z.string().default(DEFAULT_TIME_ZONE).refine(isValidTimeZone, 'must be an IANA time zone, such as Europe/London'),
  PROCESSING_FEE_PERCENT: z.coerce.number().min(0).max(20).default(1.5),
  PROCESSING_FEE_FIXED_MINOR: z.coerce.number().int().min(0).max(1000).default(20),
  /**
   * The largest single gift the donation form takes, in pounds; appeals in other currencies take
   * about the same (donations/amounts.ts). Larger gifts are asked to contact the organisation.
   */
  DONATION_MAX_GBP: z.coerce.number().int().min(10).max(1_000_000).default(25_000),
  /** How many proxies in front of the app add to X-Forwarded-For; 0 trusts no header. */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** Where rate-limit counters live: memory for one instance, postgres when several share the work. */
  RATE_LIMIT_STORE: z.enum(['memory', 'postgres']).default('memory'),
  /** Checkout sessions one address may start in ten minutes (card-testing defence). */
  /**
   * Checkout Sessions and registrations one address may start in ten minutes. At a fundraising
   * dinner a whole room gives at once from one Wi-Fi address, so the default is generous: 200.
   */
  CHECKOUT_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Checkouts from one address that may end unpaid (expired, failed, declined) in ten minutes. */
  CHECKOUT_FAILURE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(20),
  REGISTRATION_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(200),
  /**
   * Wrong staff passwords one address may try for one account before each further try waits
   * (2 s, then 4 s, doubling to 15 minutes). Nothing else is ever slowed or blocked by them
   * (docs/decisions/020).
   */
  STAFF_SIGN_IN_FREE_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  /** At most one sign-in link email per staff member in this many minutes, however often it is asked for. */
  STAFF_SIGN_IN_LINK_EMAIL_MINUTES: z.coerce.number().int().min(1).max(60).default(5),
  /**
   * The key that encrypts staff members' TOTP secrets (at least 32 characters). Unset: derived
   * from SESSION_SECRET. Set it separately so that changing SESSION_SECRET keeps second factors.
   */
  TOTP_ENCRYPTION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * Unpaid holds (places kept while someone pays) one client address may have open at once for
   * one event: generous, because a table of ten at a dinner books from one Wi-Fi. Staff can raise
   * it for one event in the event form.
   */
  UNPAID_HOLDS_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(20),
  /** How long someone joining a waitlist has to confirm their address from the email before the entry lapses. */
  WAITLIST_CONFIRM_HOURS: z.coerce.number().int().min(1).max(168).default(24),
  STRIPE_SECRET_KEY: z.string().startsWith('sk_').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().startsWith('whsec_').optional(),
  RESEND_API_KEY: z.string().startsWith('re_').optional(),
  RESEND_WEBHOOK_SECRET: z.string().startsWith('whsec_').optional(),
  /** The sender of every email, e.g. `CAGE <appeals@example.org>` (a domain verified with Resend). */
  EMAIL_FROM: z.string().min(3).optional(),
  /** Where replies go (a person's inbox, not a no-reply address); unset means replies go to EMAIL_FROM. */
  EMAIL_REPLY_TO: z.string().email('must be an email address, such as info@example.org').optional(),
  /** Resend's default limit is 2 requests a second; 0 turns the throttle off. */
  EMAIL_RATE_PER_SECOND: z.coerce.number().min(0).max(1000).default(2),
  /** After this long an email that Resend keeps refusing is marked failed, for staff to retry. */
  EMAIL_GIVE_UP_AFTER_HOURS: z.coerce.number().min(0.01).max(72).default(24),
  /** Run the background worker inside the web server (the default for `npm run dev`). */
  WORKER_IN_PROCESS: z.enum(['true', 'false', '1', '0']).optional().transform((value) => (value === undefined ? undefined : value === 'true' || value === '1')),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(2),
  /** The most a form post may send (KB); staff appeal forms with a photo and webhooks have their own. */
  REQUEST_BODY_LIMIT_KB: z.coerce.number().int().min(16).max(8192).default(256),
  /** Failed attempts to apply a Stripe event before it is parked for staff (docs/decisions/014). */
  STRIPE_EVENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  /** How many Stripe events one worker applies at once (different payments; one payment's wait). */
  STRIPE_APPLY_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  /**
   * Where security researchers report a vulnerability (security.txt's Contact): a mailto: or
   * https: URI, or an email address. Unset: the organisation's contact email.
   */
  SECURITY_CONTACT: z
    .string()
    .transform((value) => (/^[^\s@:/]+@[^\s@/]+\.[^\s@/]+$/.test(value) ? `mailto:${value}` : value))
    .refine((value) => /^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(value), 'must be an email address, a mailto: or an https: URI')
    .optional(),
  /** When security.txt stops being valid (an ISO date). Unset: 180 days after today, renewed daily. */
  SECURITY_TXT_EXPIRES: z
    .string()
    .refine((value) => /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)), 'must be an ISO date, such as 2027-06-30')
    .transform((value) => new Date(value))
    .optional(),
  /**
   * How long an idle keep-alive connection stays open. Above the 60 s idle timeout load balancers
   * commonly use, so the balancer closes idle connections rather than this server: a request the
   * balancer (or Stripe) sends at the moment Node closes the connection would otherwise fail
   * with a reset or a 502. Node's own default is 5 s.
   */
  KEEP_ALIVE_SECONDS: z.coerce.number().int().min(1).max(600).default(65),
  /**
   * How far the web server's heap may grow past what its last full garbage collection kept before
   * the next one, in percent (V8's `--heap-growing-percent`; 0 leaves V8's own factor, up to 300%).
   * A flood of refused connections leaves garbage V8 otherwise collects only after the server
   * has grown by 60-100 MB (docs/decisions/031).
   */
  HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(400).default(60),
  /** How many seconds to wait for requests in flight when asked to stop. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(300).default(10),
})

export type Env = z.infer<typeof envSchema>

/** Secrets production cannot run without; each later feature adds its own here. */
const requiredInProduction = [
  'SESSION_SECRET',
  'RESEND_API_KEY',
  'RESEND_WEBHOOK_SECRET',
  'EMAIL_FROM',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'APP_URL',
] as const satisfies readonly (keyof Env)[]

export class EnvError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
    this.name = 'EnvError'
  }
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
  )
  const result = envSchema.safeParse(cleaned)
  if (!result.success) {
    throw new EnvError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    )
  }
  const env = result.data
  if (env.NODE_ENV === 'production') {
    const missing = requiredInProduction.filter((name) => env[name] === undefined)
    if (missing.length > 0) {
      throw new EnvError(missing.map((name) => `${name} is required in production`))
    }
  }
  return env
}

/** Where development email appears to come from; production must set EMAIL_FROM. */
export const DEVELOPMENT_EMAIL_FROM = 'Sanad <no-reply@sanad.localhost>'

/** The public address: APP_URL, or this machine in development. Links in emails use it. */
export function appUrl(env: Env = getEnv()): string {
  return (env.APP_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '')
}

/** Where `server.listen` binds: HOST, else loopback outside production, else every interface (undefined). */
export function listenHost(env: Env = getEnv()): string | undefined {
  return env.HOST ?? (env.NODE_ENV === 'production' ? undefined : '127.0.0.1')
}

let parsed: Env | undefined

/** The environment, parsed once. Start-up calls this first so a bad setting stops the process. */
export function getEnv(): Env {
  parsed ??= parseEnv(process.env)
  return parsed
}

/** For tests that change process.env between cases. */
export function resetEnvForTests() {
  parsed = undefined
}
