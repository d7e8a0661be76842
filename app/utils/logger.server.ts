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
  'message',
  'password',
  'token',
  'card',
  'authorization',
  'cookie',
  'set-cookie',
]

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}) {
  const paths = REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`])
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'sanad' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  )
}

export function getLogger(): pino.Logger {
  return singleton('logger', () => createLogger({ level: getEnv().LOG_LEVEL }))
}
