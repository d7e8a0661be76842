import { sql } from 'kysely'
import { getEnv } from './env.server.ts'

/** The organisation's time zone, from the TIME_ZONE setting (see time-zone.ts). */
export function organisationTimeZone(): string {
  return getEnv().TIME_ZONE
}

/**
 * Where a calendar day typed into a filter starts and ends, as SQL: days in the organisation's
 * time zone, so a gift at 00:30 BST on 6 April belongs to 6 April (and to the new tax year),
 * although it is still 5 April in UTC.
 */
export function startOfDayInZone(day: string, timeZone = organisationTimeZone()) {
  return sql<Date>`(${day}::date)::timestamp at time zone ${timeZone}`
}

export function startOfNextDayInZone(day: string, timeZone = organisationTimeZone()) {
  return sql<Date>`(${day}::date + 1)::timestamp at time zone ${timeZone}`
}
