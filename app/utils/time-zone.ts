import { dateTimeFormat } from './intl-cache.ts'

/**
 * The organisation's time zone (the TIME_ZONE setting) decides which calendar day a gift, an
 * audit entry or an appeal's closing date falls on, and how staff pages show times. Events carry
 * their own zone. This default is the one place the zone is written; everything else asks.
 */
export const DEFAULT_TIME_ZONE = 'Europe/London'

export function isValidTimeZone(timeZone: string) {
  try {
    dateTimeFormat('en-GB', { timeZone })
    return true
  } catch {
    return false
  }
}

/** "6 Apr 2026, 09:15" in `timeZone`, as staff lists show a moment. */
export function formatDateTime(instant: Date | string, timeZone: string, options: { seconds?: boolean } = {}) {
  return dateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: options.seconds ? 'medium' : 'short', timeZone }).format(new Date(instant))
}

/** The zone's canonical IANA name ("europe/london" → "Europe/London"), or null when Intl does not know it. */
export function canonicalTimeZone(input: string): string | null {
  const zone = input.trim()
  // Offsets such as "+01:00" are not places: their rules never change with the seasons.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return null
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: zone }).resolvedOptions().timeZone
  } catch {
    return null
  }
}

/** Suggestions for the zone field: every zone this server's Intl knows. */
export function timeZoneChoices(): string[] {
  const zones = Intl.supportedValuesOf('timeZone')
  return zones.includes('UTC') ? zones : [...zones, 'UTC']
}
