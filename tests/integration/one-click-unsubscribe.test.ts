import { beforeAll, describe, expect, test } from 'vitest'
import { emailTemplateNames, emailTemplates, renderEmail } from '#emails/index.ts'
import { createResendSender } from '#app/modules/email/resend.server.ts'
import { getOrCreateSaver } from '#app/modules/events/saved-events.server.ts'
import { action as alertsOffAction } from '#app/routes/saved_.alerts.off.tsx'
import { action as stopUpdatesAction } from '#app/routes/updates.stop.tsx'
import { getDb } from '#app/utils/db.server.ts'
import { saverAlertsOffUrl, stopAppealUpdatesUrl } from '#app/utils/signed-links.server.ts'
import { clearResendCalls, resendCalls } from '#tests/mocks/resend.ts'
import { createAppeal, createPendingDonation, useTestStripe } from './donation-fixtures.ts'

const db = getDb()

beforeAll(() => useTestStripe())

/** A mail provider's RFC 8058 request: a bare POST to the header's address, no cookie, no Origin. */
function oneClick(url: string) {
  return new Request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  })
}

describe('List-Unsubscribe', () => {
  test('news and alerts carry one-click unsubscribe headers; receipts, confirmations and sign-in links do not', async () => {
    const withHeaders: string[] = []
    for (const name of emailTemplateNames) {
      const rendered = await renderEmail(name, emailTemplates[name].previewProps)
      if (Object.keys(rendered.headers).length === 0) continue
      withHeaders.push(name)
      const props = emailTemplates[name].previewProps as { unsubscribeUrl: string }
      expect(rendered.headers).toEqual({ 'List-Unsubscribe': `<${props.unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' })
      // The visible link in the body is the same address.
      expect(rendered.text).toContain(props.unsubscribeUrl)
    }
    expect(withHeaders.sort()).toEqual(['appeal-update', 'saved-event-alert'])
  })

  test('the headers reach Resend with the email', async () => {
    clearResendCalls()
    const sender = createResendSender('re_test_key')
    const headers = { 'List-Unsubscribe': '<https://example.org/updates/stop?x=1>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
    await sender.send({ from: 'a@example.org', to: 'b@example.org', subject: 'News', html: '<p>News</p>', text: 'News', headers, idempotencyKey: 'appeal-update/test' })
    expect(resendCalls.at(-1)!.body).toMatchObject({ headers })
  })

  test('replies go to EMAIL_REPLY_TO when it is set, and nothing is added when it is not', async () => {
    clearResendCalls()
    const sender = createResendSender('re_test_key')
    const email = { from: 'a@example.org', to: 'b@example.org', subject: 'Receipt', html: '<p>Thanks</p>', text: 'Thanks', idempotencyKey: 'donation-receipt/test' }
    await sender.send({ ...email, replyTo: 'info@example.org' })
    expect(resendCalls.at(-1)!.body).toMatchObject({ reply_to: 'info@example.org' })
    await sender.send({ ...email, idempotencyKey: 'donation-receipt/test-2' })
    expect(resendCalls.at(-1)!.body).not.toHaveProperty('reply_to')
    expect(resendCalls.at(-1)!.body).not.toHaveProperty('headers')
  })
})

describe('one-click unsubscribe (RFC 8058)', () => {
  test('a bare POST to the signed address stops that appeal’s updates for that person only, and again is harmless', async () => {
    const appeal = await createAppeal()
    const other = await createAppeal()
    const { supporterId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    const { supporterId: otherSupporter } = await createPendingDonation({ appealId: other.id, amountMinor: 1_000 })
    await db.updateTable('donations').set({ updates_opt_in: true }).where('supporter_id', 'in', [supporterId, otherSupporter]).execute()

    const answer = (await stopUpdatesAction({ request: oneClick(stopAppealUpdatesUrl(appeal.id, supporterId)), params: {}, context: {} })) as Response
    expect(answer.status).toBe(200)
    expect((await stopUpdatesAction({ request: oneClick(stopAppealUpdatesUrl(appeal.id, supporterId)), params: {}, context: {} }) as Response).status).toBe(200)
    const optIns = await db.selectFrom('donations').select(['supporter_id', 'updates_opt_in']).where('supporter_id', 'in', [supporterId, otherSupporter]).execute()
    expect(Object.fromEntries(optIns.map((row) => [row.supporter_id, row.updates_opt_in]))).toEqual({ [supporterId]: false, [otherSupporter]: true })
  })

  test('a bare POST with a forged signature changes nothing', async () => {
    const appeal = await createAppeal()
    const { supporterId } = await createPendingDonation({ appealId: appeal.id, amountMinor: 1_000 })
    await db.updateTable('donations').set({ updates_opt_in: true }).where('supporter_id', '=', supporterId).execute()
    const forged = new URL(stopAppealUpdatesUrl(appeal.id, supporterId))
    forged.searchParams.set('signature', 'f'.repeat(43))
    const answer = await stopUpdatesAction({ request: oneClick(forged.toString()), params: {}, context: {} }).catch((error: unknown) => error as Response)
    expect((answer as Response).status).toBe(404)
    expect((await db.selectFrom('donations').select('updates_opt_in').where('supporter_id', '=', supporterId).executeTakeFirstOrThrow()).updates_opt_in).toBe(true)
  })

  test('saved-event alerts turn off with one click', async () => {
    const saverId = await getOrCreateSaver(db, null)
    await db.updateTable('savers').set({ alerts_reminder: true, alerts_few_places: true }).where('id', '=', saverId).execute()
    const answer = (await alertsOffAction({ request: oneClick(saverAlertsOffUrl(saverId)), params: {}, context: {} })) as Response
    expect(answer.status).toBe(200)
    expect(await db.selectFrom('savers').select(['alerts_reminder', 'alerts_few_places']).where('id', '=', saverId).executeTakeFirstOrThrow()).toEqual({
      alerts_reminder: false,
      alerts_few_places: false,
    })
  })
})
