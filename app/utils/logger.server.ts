import pino from 'pino'
import { getEnv } from './env.server.ts'
import { singleton } from './singleton.server.ts'

/**
 * Structured logs. Supporters may be watched by hostile states, so logs never carry who they
 * are: fields that could hold personal data are censored wherever they appear, and request logs
 * record the path without its query string.
 */
export const REDACTED_FIELDS = [
  'email',
  'name',
  'fullName',
  'full_name',
  'donor_name',
  'donor_email',
  'to',
  'to_address',
  'address',
  'postcode',
  'password',
  'token',
  'card',
  'authorization',
  'cookie',
  'set-cookie',
]

/** Supporters' messages, wherever a log line carries a record that has one. */
const MESSAGE_PATHS = ['message', 'donation.message', 'registration.message', 'supporter.message', 'body.message']

export function createLogger(options: { level?: string; destination?: pino.DestinationStream; redact?: boolean } = {}) {
  const paths = [...REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]), ...MESSAGE_PATHS]
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'sanad' },
      redact: options.redact === false ? undefined : { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        // PostgreSQL puts the offending values (an email in a unique violation) in `detail`.
        err: (error: Error) => {
          const { detail: _detail, ...serialized } = pino.stdSerializers.err(error) as ReturnType<
            typeof pino.stdSerializers.err
          > & { detail?: unknown }
          return serialized
        },
      },
    },
    options.destination,
  )
}

export function getLogger(): pino.Logger {
  return singleton('logger', () => createLogger({ level: getEnv().LOG_LEVEL }))
}

/**
 * The one line per request (method, path without its query, status, duration): fields fixed in
 * app/server/index.ts and never personal, so it skips the redaction pass, which cost more than
 * serving a cached page.
 */
export function getRequestLogger(): pino.Logger {
  return singleton('request-logger', () => createLogger({ level: getEnv().LOG_LEVEL, redact: false }))
}
