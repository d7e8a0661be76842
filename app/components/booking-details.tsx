import type { BookingView } from '#app/modules/registrations/booking-view.server.ts'
import { CalendarLinks } from '#app/components/calendar-links.tsx'

/**
 * A confirmed place: what it is and what was paid, then how to get in. At an event in a room,
 * the QR code staff scan at the door (inline SVG drawn on the server) with the code to say if it
 * will not scan; online, the joining link and no talk of arriving. Then the calendar links.
 */
export function BookingDetails({
  booking,
  places,
  onlineUrl,
  checkinCode,
}: {
  booking: BookingView
  places: string
  onlineUrl: string | null
  checkinCode: string | null
}) {
  return (
    <>
      <dl className="booking__facts">
        <div>
          <dt>Booking</dt>
          <dd>{places}</dd>
        </div>
        <div>
          <dt>Paid</dt>
          <dd>
            {booking.paid}
            {booking.refunded ? ` (${booking.refunded} refunded)` : null}
          </dd>
        </div>
      </dl>
      {booking.online ? (
        <section className="booking__join" aria-labelledby="booking-join-title">
          <h2 id="booking-join-title">How to join</h2>
          {onlineUrl ? (
            <p>
              This event is online. When it starts, join with this link: <a href={onlineUrl}>{onlineUrl}</a>
            </p>
          ) : (
            <p>This event is online. The joining link is in your confirmation email.</p>
          )}
          <p>The link is for you: please do not share it.</p>
        </section>
      ) : booking.qrSvg || checkinCode ? (
        <section className="booking__checkin" aria-labelledby="booking-checkin-title">
          <h2 id="booking-checkin-title">At the door</h2>
          {booking.qrSvg ? (
            // Our own SVG, drawn by the qrcode package from the signed check-in code: no markup from anyone else.
            <div className="booking__qr" role="img" aria-label="QR code for checking in" dangerouslySetInnerHTML={{ __html: booking.qrSvg }} />
          ) : null}
          {checkinCode ? (
            <p>
              {booking.qrSvg ? 'When you arrive, show this QR code, or tell us your check-in code: ' : 'When you arrive, tell us your check-in code: '}
              <strong>{checkinCode}</strong>
            </p>
          ) : null}
        </section>
      ) : null}
      {booking.calendar ? <CalendarLinks calendar={booking.calendar} headingId="booking-calendar-title" /> : null}
    </>
  )
}
