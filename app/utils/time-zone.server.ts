import { getEnv } from './env.server.ts'

/** The organisation's time zone, from the TIME_ZONE setting (see time-zone.ts). */
export function organisationTimeZone(): string {
  return getEnv().TIME_ZONE
}
