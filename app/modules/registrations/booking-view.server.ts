import { googleCalendarUrl, outlookCalendarUrl, calendarSequence } from '#app/modules/events/ics.ts'
import { publicCalendarEntry } from '#app/modules/events/event-page.server.ts'
import { checkinQrSvg } from '#app/modules/registrations/registration-emails.server.ts'
import { absoluteUrl } from '#app/utils/absolute-url.server.ts'
import { formatMoney } from '#app/utils/money.ts'

/**
 * What the booking page shows about a place beside its status (issue 13, "the booking page"):
 * a heading that says where the person stands, what they paid, the check-in QR code for an event
 * in a room, and the calendar links. An online event has no door: it gets the joining words and
 * no QR code.
 */

export type BookingFacts = {
  status: string
  mode: 'in_person' | 'online'
  checkin_token: string | null
  amount_minor: number
  refunded_minor: number
  currency: string
  event_id: string
  event_title: string
  event_slug: string
  event_summary: string
  organiser_name: string
  calendar_changed_at: Date | null
  starts_at: Date
  ends_at: Date
  time_zone: string
  venue_name: string | null
  venue_address: string | null
}

export type BookingView = {
  /** "You're booked", "You're on the waiting list", or null where the page says something else. */
  heading: string | null
  online: boolean
  /** What was paid for the place(s): "£10.00", or "Free"; with what has been refunded, if any. */
  paid: string
  refunded: string | null
  /** The check-in QR code as an <svg> element, for a confirmed place at an event in a room. */
  qrSvg: string | null
  calendar: { icsUrl: string; googleUrl: string; outlookUrl: string } | null
}

export function bookingHeading(status: string): string | null {
  if (status === 'confirmed') return 'You’re booked'
  if (status === 'waitlisted') return 'You’re on the waiting list'
  return null
}

export async function bookingView(booking: BookingFacts, now = new Date()): Promise<BookingView> {
  const confirmed = booking.status === 'confirmed'
  const online = booking.mode === 'online'
  const upcoming = booking.ends_at > now
  const pageUrl = absoluteUrl(`/events/${booking.event_slug}`)
  // The public entry: the links hand it to Google or Microsoft, so nothing of this booking goes in.
  const entry = publicCalendarEntry(
    {
      event: {
        id: booking.event_id,
        title: booking.event_title,
        summary: booking.event_summary,
        startsAt: booking.starts_at,
        endsAt: booking.ends_at,
        timeZone: booking.time_zone,
        mode: booking.mode,
        venueName: booking.venue_name,
        venueAddress: booking.venue_address,
        organiserName: booking.organiser_name,
        calendarSequence: booking.calendar_changed_at ? calendarSequence(booking.calendar_changed_at) : 0,
      },
    },
    pageUrl,
  )
  return {
    heading: bookingHeading(booking.status),
    online,
    paid: booking.amount_minor > 0 ? formatMoney(booking.amount_minor, booking.currency) : 'Free',
    refunded: booking.refunded_minor > 0 ? formatMoney(booking.refunded_minor, booking.currency) : null,
    qrSvg: confirmed && !online && booking.checkin_token ? await checkinQrSvg(booking.checkin_token) : null,
    calendar:
      confirmed && upcoming
        ? { icsUrl: `/events/${booking.event_slug}/calendar.ics`, googleUrl: googleCalendarUrl(entry), outlookUrl: outlookCalendarUrl(entry) }
        : null,
  }
}
