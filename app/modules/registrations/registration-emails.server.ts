import QRCode from 'qrcode'
import { buildIcs } from '#app/modules/events/ics.ts'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { DatabaseTransaction } from '#app/utils/db.server.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { confirmWaitlistUrl, manageRegistrationUrl, signedCheckinCode } from '#app/utils/signed-links.server.ts'
import { waitlistConfirmDeadline } from '#app/modules/registrations/waitlist-deadline.server.ts'

type Trx = DatabaseTransaction

/** Everything a registration email says about its event. */
export async function registrationEmailFacts(trx: Trx, registrationId: string) {
  const row = await trx
    .selectFrom('registrations as r')
    .innerJoin('events as e', 'e.id', 'r.event_id')
    .innerJoin('ticket_types as t', 't.id', 'r.ticket_type_id')
    .select([
      'r.id',
      'r.name',
      'r.email',
      'r.quantity',
      'r.amount_minor',
      'r.currency',
      'r.checkin_token',
      'r.offer_expires_at',
      'r.status',
      'r.waitlisted_at',
      'r.waitlist_confirmed_at',
      'e.id as event_id',
      'e.slug',
      'e.title',
      'e.summary',
      'e.starts_at',
      'e.ends_at',
      'e.time_zone',
      'e.mode',
      'e.venue_name',
      'e.venue_address',
      'e.access_notes',
      'e.online_url',
      'e.organiser_name',
      't.name as ticket_name',
    ])
    .where('r.id', '=', registrationId)
    .executeTakeFirstOrThrow()
  return {
    row,
    common: {
      organisation: await getEmailOrganisation(trx),
      name: row.name,
      eventTitle: row.title,
      eventUrl: `${appUrl()}/events/${row.slug}`,
      startsAt: row.starts_at.toISOString(),
      endsAt: row.ends_at.toISOString(),
      timeZone: row.time_zone,
    },
  }
}

export async function sendConfirmation(trx: Trx, registrationId: string, resend?: string) {
  const { row, common } = await registrationEmailFacts(trx, registrationId)
  const location = row.online_url ? `Online: ${row.online_url}` : [row.venue_name, row.venue_address].filter(Boolean).join(', ')
  const calendar = buildIcs({
    uid: `registration-${row.id}@sanad`,
    title: row.title,
    description: `${row.summary}\n\nManage your place: ${manageRegistrationUrl(row.id)}`,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    timeZone: row.time_zone,
    location,
    url: common.eventUrl,
    organiserName: row.organiser_name,
  })
  const attachments = [{ filename: `${row.slug}.ics`, contentType: 'text/calendar; charset=utf-8', contentBase64: Buffer.from(calendar).toString('base64') }]
  // Online there is no door to show a QR code at: the email gives joining words instead.
  const online = row.mode === 'online'
  if (row.checkin_token && !online) attachments.push(await checkinQrAttachment(row.checkin_token))
  await enqueueEmail(trx, {
    template: 'registration-confirmed',
    to: row.email,
    props: {
      ...common,
      venueName: row.venue_name,
      venueAddress: row.venue_address,
      accessNotes: row.access_notes,
      // The joining link goes only to people with a place.
      onlineUrl: row.online_url,
      ticketTypeName: row.ticket_name,
      quantity: row.quantity,
      amountPaidMinor: row.amount_minor,
      currency: row.currency,
      cancelUrl: manageRegistrationUrl(row.id),
      checkinCode: row.checkin_token,
      hasQrAttachment: attachments.length > 1,
      online,
    },
    idempotencyKey: resend ? `registration-confirmed/${row.id}/${resend}` : `registration-confirmed/${row.id}`,
    attachments,
  })
}

/** Options fixed here so a test can regenerate exactly the image that was sent. */
export const CHECKIN_QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2, width: 240 } as const

/** The QR code staff scan at the door, as a PNG attachment rather than an inline or remote image. */
export async function checkinQrAttachment(checkinToken: string) {
  const png = await QRCode.toBuffer(signedCheckinCode(checkinToken), CHECKIN_QR_OPTIONS)
  return { filename: 'check-in.png', contentType: 'image/png', contentBase64: png.toString('base64') }
}

/**
 * The same QR code as inline SVG, for the booking page: drawn on the server, so the page loads
 * nothing for it from anywhere (no image request, no other origin, no data: address).
 */
export async function checkinQrSvg(checkinToken: string): Promise<string> {
  const { width: _width, ...options } = CHECKIN_QR_OPTIONS
  return QRCode.toString(signedCheckinCode(checkinToken), { ...options, type: 'svg' })
}

export async function sendWaitlisted(trx: Trx, registrationId: string) {
  const { row, common } = await registrationEmailFacts(trx, registrationId)
  const idempotencyKey = `waitlist-joined/${row.id}`
  // Until the address is confirmed the entry is not in the queue: the email carries the only link that confirms it.
  const unconfirmed = row.status === 'waitlisted' && !row.waitlist_confirmed_at ? row.waitlisted_at : null
  const props = {
    ...common,
    manageUrl: manageRegistrationUrl(row.id),
    confirmUrl: unconfirmed ? confirmWaitlistUrl(row.id) : null,
    confirmBy: unconfirmed ? waitlistConfirmDeadline(unconfirmed).toISOString() : null,
  }
  await enqueueEmail(trx, { template: 'waitlist-joined', to: row.email, props, idempotencyKey })
}

/**
 * To an address registered again from another form: it already has this place (or waits for
 * it), and here is its link. At most one a day for each registration (`day`, YYYY-MM-DD).
 */
export async function sendRegistrationExists(trx: Trx, registrationId: string, status: 'confirmed' | 'waitlisted' | 'offered' | 'held', day: string) {
  const { row, common } = await registrationEmailFacts(trx, registrationId)
  await enqueueEmail(trx, {
    template: 'registration-exists',
    to: row.email,
    props: { ...common, status, manageUrl: manageRegistrationUrl(row.id) },
    idempotencyKey: `registration-exists/${row.id}/${day}`,
  })
}
