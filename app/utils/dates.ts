import { dateTimeFormat } from './intl-cache.ts'

/**
 * Dates are shown in the event's own time zone with the zone named, so a supporter abroad sees
 * when the event happens where it happens.
 */
export function formatEventDate(instant: Date | string, timeZone: string, locale = 'en-GB') {
  return dateTimeFormat(locale, {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(new Date(instant))
}

export function formatEventTime(instant: Date | string, timeZone: string, locale = 'en-GB') {
  return dateTimeFormat(locale, {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(instant))
}

export function formatDay(instant: Date | string, locale = 'en-GB') {
  return dateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(instant),
  )
}

/** Whole days from `now` until `instant`, never negative. */
export function daysLeft(instant: Date | string, now = new Date()) {
  return Math.max(0, Math.ceil((new Date(instant).getTime() - now.getTime()) / 86_400_000))
}
