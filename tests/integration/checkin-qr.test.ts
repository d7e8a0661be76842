import QRCode from 'qrcode'
import { beforeAll, describe, expect, test } from 'vitest'
import { action as checkInAction, type CheckInActionData } from '#app/routes/staff.events.$id_.check-in.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { emailTemplates, renderEmail } from '#emails/index.ts'
import { signedCheckinCode, verifyCheckinCode } from '#app/utils/signed-links.server.ts'
import { createEvent, register, registrationRequest } from './registration-fixtures.ts'
import { createStaff, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { CHECKIN_QR_OPTIONS } from '#app/modules/registrations/registration-emails.server.ts'

const db = getDb()
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

let cookie: string

beforeAll(async () => {
  const staff = await createStaff('staff')
  cookie = await sessionCookieFor(staff.id)
})

async function checkIn(eventId: string, token: string) {
  const request = postRequest(`/staff/events/${eventId}/check-in`, { token }, { cookie })
  const answer = await settle(() => checkInAction({ request, params: { id: eventId }, context: {} }))
  return { status: answer.status, ...(answer.body as CheckInActionData | null) }
}

/** A confirmed free registration, its check-in token and its confirmation email. */
async function confirmedRegistration() {
  const event = await createEvent({ capacity: 5 })
  const request = registrationRequest(event, { name: 'Dina Haddad' })
  expect(await register(request)).toMatchObject({ kind: 'confirmed' })
  const registration = await db.selectFrom('registrations').selectAll().where('email', '=', request.email).executeTakeFirstOrThrow()
  const email = await db
    .selectFrom('email_outbox')
    .selectAll()
    .where('to_address', '=', request.email)
    .where('template', '=', 'registration-confirmed')
    .executeTakeFirstOrThrow()
  return { event, token: registration.checkin_token!, email }
}

describe('signed check-in codes', () => {
  test('verify to the raw token, and only when the signature is ours', () => {
    const code = signedCheckinCode('abc_DEF-123')
    expect(code).toMatch(/^abc_DEF-123\.[\w-]+$/)
    expect(verifyCheckinCode(code)).toBe('abc_DEF-123')
    expect(verifyCheckinCode(`${code.slice(0, -1)}${code.endsWith('A') ? 'B' : 'A'}`)).toBeNull()
    expect(verifyCheckinCode(`other-token.${code.split('.')[1]}`)).toBeNull()
    expect(verifyCheckinCode('abc_DEF-123')).toBeNull()
    expect(verifyCheckinCode('.')).toBeNull()
  })
})

describe('the QR code in the confirmation email', () => {
  test('is a PNG attachment of the signed code, beside the calendar file', async () => {
    const { token, email } = await confirmedRegistration()
    expect(email.attachments.map((attachment) => attachment.filename)).toEqual([expect.stringMatching(/\.ics$/), 'check-in.png'])
    const attachment = email.attachments[1]!
    expect(attachment.contentType).toBe('image/png')
    const png = Buffer.from(attachment.contentBase64, 'base64')
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE)
    // No decoder is installed, so compare with the image the library draws for the signed code.
    expect(png.equals(await QRCode.toBuffer(signedCheckinCode(token), CHECKIN_QR_OPTIONS))).toBe(true)
    expect(png.readUInt32BE(16)).toBe(240)
    // The short code stays in the email for staff to type, and the email mentions the attachment.
    expect(email.props).toMatchObject({ checkinCode: token, hasQrAttachment: true })
    expect(JSON.stringify(email.props)).not.toContain(signedCheckinCode(token))
  })
})

describe('the confirmation wording', () => {
  test('names the attachment and the short code only when a QR code is attached', async () => {
    const props = { ...emailTemplates['registration-confirmed'].previewProps, checkinCode: 'K7P-4QX' }
    const withQr = await renderEmail('registration-confirmed', { ...props, hasQrAttachment: true })
    expect(withQr.text).toContain('show the attached QR code (check-in.png), or this code: K7P-4QX')
    expect(withQr.html).not.toMatch(/<img[^>]+src="https?:/i)
    const { hasQrAttachment: _, ...withoutFlag } = props
    const withoutQr = await renderEmail('registration-confirmed', withoutFlag)
    expect(withoutQr.text).not.toContain('check-in.png')
    expect(withoutQr.text).toContain('K7P-4QX')
  })
})

describe('checking in with the QR code', () => {
  test('the signed code checks in once; a second scan says when', async () => {
    const { event, token } = await confirmedRegistration()
    const first = await checkIn(event.eventId, ` ${signedCheckinCode(token)} `)
    expect(first).toMatchObject({ status: 200, ok: true, message: 'Checked in: Dina Haddad, 1 place', token: '' })
    const second = await checkIn(event.eventId, signedCheckinCode(token))
    expect(second.ok).toBe(false)
    expect(second.message).toMatch(/^Already checked in at \d{2}:\d{2}: Dina Haddad$/)
  })

  test('a code with an altered signature is refused, and checks nobody in', async () => {
    const { event, token } = await confirmedRegistration()
    const signature = signedCheckinCode(token).split('.')[1]!
    const tampered = `${token}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
    for (const code of [tampered, `${token}.`, `${token}.not-a-signature`]) {
      expect(await checkIn(event.eventId, code)).toMatchObject({ ok: false, message: 'No registration with that code', token: code })
    }
    const registration = await db.selectFrom('registrations').select('checked_in_at').where('checkin_token', '=', token).executeTakeFirstOrThrow()
    expect(registration.checked_in_at).toBeNull()
  })

  test('the short code typed by hand still works', async () => {
    const { event, token } = await confirmedRegistration()
    expect(await checkIn(event.eventId, token)).toMatchObject({ ok: true, message: 'Checked in: Dina Haddad, 1 place' })
    expect((await checkIn(event.eventId, signedCheckinCode(token))).message).toMatch(/^Already checked in at /)
  })
})
