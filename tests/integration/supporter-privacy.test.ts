import { randomUUID } from 'node:crypto'
import { parseCrontab } from 'graphile-worker'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { createResendSender } from '#app/modules/email/resend.server.ts'
import { sendEmailBatches } from '#app/modules/email/batches.server.ts'
import { CRONTAB, createTaskList } from '#app/worker/tasks.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { action as supportersAction, loader as supportersLoader } from '#app/routes/staff.supporters.tsx'
import { action as exportAction, loader as exportLoader } from '#app/routes/staff.supporters.export[.]json.ts'
import { clearResendCalls, resendBatchCalls, resendCalls } from '#tests/mocks/resend.ts'
import { completedSession, refundedCharge, stripeEvent } from '#tests/mocks/stripe.ts'
import { appealTotals, createAppeal, deliver, keptUpBesideLedger, ledgerTotals, useTestStripe } from './donation-fixtures.ts'
import { createEvent, register, registrationRequest } from './registration-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'
import { eraseSupporter } from '#app/modules/supporters/erasure.server.ts'
import { purgeAbandonedCheckouts, purgeUnusedSavers, PURGE_ABANDONED_CHECKOUTS_TASK } from '#app/modules/supporters/retention.server.ts'
import { auditExport } from '#app/modules/donations/donations-csv.server.ts'
import { sendEventReminders } from '#app/modules/registrations/reminders.server.ts'

const db = getDb()
const args = (request: Request) => ({ request, params: {}, context: {} })
const DAY = 24 * 60 * 60 * 1000

beforeAll(() => useTestStripe())

/** Strings only this test writes, so finding one anywhere in the database means it was left behind. */
function person(tag: string) {
  const unique = randomUUID().slice(0, 8)
  return {
    email: `${tag}.${unique}@example.org`,
    name: `Zainab ${tag}-${unique} Qasimi`,
    message: `Stay strong ${tag}-${unique}, we have not forgotten you`,
    accessNeeds: `Step-free access ${tag}-${unique}`,
    address: `${unique} Olive Lane, Leeds`,
  }
}
type Person = ReturnType<typeof person>

/**
 * One supporter with a record of every kind: confirmed gifts (one with Gift Aid and a message,
 * one partly refunded), an abandoned checkout with Stripe details waiting, a stopped monthly gift,
 * a registration with access needs, saved events and a link, emails, a suppression, and staff
 * history that quotes the address.
 */
async function seedSupporter(who: Person, appeal: { id: string }, event: { eventId: string; ticketTypeId: string }, options: { giftAidYearsAgo?: number } = {}) {
  const supporter = await db.insertInto('supporters').values({ email: who.email, name: who.name }).returning('id').executeTakeFirstOrThrow()
  const declaration = await db
    .insertInto('gift_aid_declarations')
    .values({ supporter_id: supporter.id, full_name: who.name, house_name_or_number: '12', address: who.address, postcode: 'LS1 4AP', declaration_text: 'I am a UK taxpayer.' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const plan = await db
    .insertInto('recurring_plans')
    .values({ appeal_id: appeal.id, supporter_id: supporter.id, amount_minor: 1_000, currency: 'GBP', status: 'cancelled', stripe_customer_id: `cus_${supporter.id.slice(0, 8)}` })
    .returning('id')
    .executeTakeFirstOrThrow()
  const donation = (values: Record<string, unknown>) =>
    db
      .insertInto('donations')
      .values({
        appeal_id: appeal.id,
        supporter_id: supporter.id,
        frequency: 'one_off',
        amount_minor: 2_500,
        currency: 'GBP',
        donor_name: who.name,
        donor_email: who.email,
        ...values,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  const giftAided = await donation({ message: who.message, show_name: true, show_message: true, updates_opt_in: true, gift_aid_declaration_id: declaration.id })
  const refunded = await donation({ amount_minor: 4_000 })
  const abandoned = await donation({ status: 'abandoned', amount_minor: 700, message: who.message, stripe_payment_intent_id: `pi_abandoned_${supporter.id.slice(0, 8)}` })
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: giftAided.id, amountMinor: 2_500 })))).toBe(200)
  expect(await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: refunded.id, amountMinor: 4_000 })))).toBe(200)
  expect(await deliver(stripeEvent('charge.refunded', refundedCharge({ paymentIntent: `pi_${refunded.id.slice(0, 8)}`, amountMinor: 4_000, amountRefundedMinor: 1_000 })))).toBe(200)
  if (options.giftAidYearsAgo) {
    await db
      .updateTable('donations')
      .set({ confirmed_at: sql<Date>`now() - make_interval(years => ${options.giftAidYearsAgo})` })
      .where('id', '=', giftAided.id)
      .execute()
  }
  await db
    // A waiting event stored before the inbox left personal fields out (migration 0018 moved them).
    .insertInto('stripe_inbox')
    .values({
      event_id: `evt_${randomUUID()}`,
      type: 'charge.refunded',
      stripe_created_at: new Date(),
      state: 'waiting',
      waits_for: `pi_abandoned_${supporter.id.slice(0, 8)}`,
      payload: JSON.stringify({ billing_details: { name: who.name, email: who.email } }),
    })
    .execute()
  await db.insertInto('donation_events').values({ donation_id: refunded.id, type: 'note', detail: JSON.stringify({ billingEmail: who.email }) }).execute()

  const registration = await register(registrationRequest(event, { name: who.name, email: who.email, accessNeeds: who.accessNeeds }))
  expect(registration.kind).toBe('confirmed')

  const saver = await db.insertInto('savers').values({ supporter_id: supporter.id, alerts_reminder: true }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('saved_events').values({ saver_id: saver.id, event_id: event.eventId }).execute()
  await db
    .insertInto('saver_links')
    .values({ token_hash: randomUUID(), saver_id: saver.id, email: who.email, expires_at: new Date(Date.now() + 60 * 60 * 1000) })
    .execute()
  const outbox = await db.selectFrom('email_outbox').select('id').where('to_address', '=', who.email).orderBy('created_at').executeTakeFirstOrThrow()
  await db
    .insertInto('dev_mailbox')
    .values({ outbox_id: outbox.id, from_address: 'Sanad <no-reply@sanad.localhost>', to_address: who.email, subject: `Thank you, ${who.name}`, html: `<p>${who.message}</p>`, text: who.message })
    .execute()
  await db.insertInto('email_suppressions').values({ email: who.email.toLowerCase(), reason: 'bounced' }).execute()
  // A staff member once searched the donations list for this address and exported the result.
  const staff = await createStaff('staff')
  await auditExport(db, staff.id, 'donations.export', { filters: { q: who.email } })
  return { supporterId: supporter.id, declarationId: declaration.id, planId: plan.id, donationIds: [giftAided.id, refunded.id, abandoned.id], saverId: saver.id }
}

/** Every text, array and json column of every table, searched for a string; returns "table.column" for each hit. */
async function whereInDatabase(needle: string): Promise<string[]> {
  const columns = await sql<{ table_schema: string; table_name: string; column_name: string }>`
    select c.table_schema, c.table_name, c.column_name
    from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
    where c.table_schema not in ('pg_catalog', 'information_schema')
      and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED')
    order by 1, 2, 3`.execute(db)
  expect(columns.rows.length).toBeGreaterThan(20)
  const hits: string[] = []
  for (const column of columns.rows) {
    const table = sql.id(column.table_schema, column.table_name)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${table} where ${sql.id(column.column_name)}::text ilike ${`%${needle}%`}`.execute(db)
    if (rows[0]!.n > 0) hits.push(`${column.table_name}.${column.column_name}`)
  }
  return hits
}

/** Everything money: totals, their shards, the ledger, donor counts. Erasure must change none of it. */
async function moneySnapshot(appealId: string) {
  return {
    totals: await appealTotals(appealId),
    ledger: await ledgerTotals(appealId),
    keptUp: await keptUpBesideLedger(),
    ledgerRows: await db.selectFrom('ledger_entries').selectAll().orderBy('id').execute(),
    shards: await db.selectFrom('appeal_total_shards').selectAll().orderBy('appeal_id').orderBy('shard').execute(),
    daily: await db.selectFrom('appeal_daily_gift_shards').selectAll().orderBy('appeal_id').orderBy('day').orderBy('shard').execute(),
    plans: await db.selectFrom('appeal_plan_shards').selectAll().orderBy('appeal_id').orderBy('shard').execute(),
    donors: await db.selectFrom('appeal_donors').selectAll().orderBy('appeal_id').orderBy('supporter_id').execute(),
    amounts: await db
      .selectFrom('donations')
      .select(['id', 'amount_minor', 'fee_cover_minor', 'refunded_minor', 'disputed_minor', 'status', 'currency', 'confirmed_at', 'stripe_payment_intent_id', 'gift_aid_declaration_id'])
      .orderBy('id')
      .execute(),
  }
}

async function auditRows(action: string) {
  return db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute()
}

let appeal: { id: string }
let event: { eventId: string; ticketTypeId: string }
let admin: string
let staffCookie: string
let viewerCookie: string

beforeAll(async () => {
  appeal = await createAppeal()
  event = await createEvent({ capacity: 50 })
  admin = await sessionCookieFor((await createStaff('admin')).id)
  staffCookie = await sessionCookieFor((await createStaff('staff')).id)
  viewerCookie = await sessionCookieFor((await createStaff('viewer')).id)
})

function find(email: string, cookie: string, intent = 'find') {
  return settle(() => supportersAction(args(postRequest('/staff/supporters', { intent, email }, { cookie }))))
}

function erase(email: string, cookie: string, confirm?: string) {
  return settle(() => supportersAction(args(postRequest('/staff/supporters', { intent: 'erase', email, ...(confirm ? { confirm } : {}) }, { cookie }))))
}

async function download(email: string, cookie: string) {
  let response: Response | undefined
  const answer = await settle(async () => {
    const result = await exportAction(args(postRequest('/staff/supporters/export.json', { email }, { cookie })))
    if (result instanceof Response) response = result
    return result
  })
  return { answer, response }
}

describe('roles', () => {
  test('viewers may not open the page, look anyone up or download; staff may, but only admins may erase', async () => {
    const who = person('roles')
    await seedSupporter(who, appeal, event)
    expect((await settle(() => supportersLoader(args(getRequest('/staff/supporters', { cookie: viewerCookie })))))).toMatchObject({ status: 403 })
    expect((await find(who.email, viewerCookie)).status).toBe(403)
    expect((await download(who.email, viewerCookie)).answer.status).toBe(403)

    const page = await settle(() => supportersLoader(args(getRequest('/staff/supporters', { cookie: staffCookie }))))
    expect(page).toMatchObject({ status: 200, body: { canErase: false } })
    expect((await find(who.email, staffCookie)).status).toBe(200)
    expect((await download(who.email, staffCookie)).answer.status).toBe(200)
    expect((await find(who.email, staffCookie, 'review-erase')).status).toBe(403)
    expect((await erase(who.email, staffCookie, 'yes')).status).toBe(403)
    expect((await db.selectFrom('supporters').select('email').where('email', '=', who.email).executeTakeFirst())?.email).toBe(who.email)

    expect((await settle(() => supportersLoader(args(getRequest('/staff/supporters', { cookie: admin })))))).toMatchObject({ status: 200, body: { canErase: true } })
    // The download is a POST: a GET (a link, a prefetch, a URL with an address in it) gets nothing.
    expect((await settle(() => exportLoader(args(getRequest('/staff/supporters/export.json', { cookie: staffCookie })))))).toMatchObject({ status: 405 })
  })

  test('a request from another site is refused before anything is read', async () => {
    const answer = await settle(() =>
      supportersAction(args(postRequest('/staff/supporters', { intent: 'find', email: 'x@example.org' }, { cookie: admin, headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' } }))),
    )
    expect(answer.status).toBe(403)
  })
})

describe('bad input', () => {
  test('answers 400 with the field error, and writes nothing', async () => {
    const before = await db.selectFrom('audit_log').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()
    for (const email of ['', 'not-an-address', `${'a'.repeat(250)}@example.org`]) {
      const answer = await find(email, staffCookie)
      expect(answer.status).toBe(400)
      expect((answer.body as { fieldErrors: Record<string, string> }).fieldErrors.email).toBeTruthy()
      const file = await download(email, staffCookie)
      expect(file.answer.status).toBe(400)
      expect((file.answer.body as { fieldErrors: Record<string, string> }).fieldErrors.email).toBeTruthy()
    }
    const after = await db.selectFrom('audit_log').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()
    expect(after.n).toBe(before.n)
  })

  test('erasing without ticking the confirmation answers 400 and erases nothing', async () => {
    const who = person('unconfirmed')
    const { supporterId } = await seedSupporter(who, appeal, event)
    const review = await find(who.email, admin, 'review-erase')
    expect(review).toMatchObject({ status: 200, body: { view: 'review' } })
    for (const confirm of [undefined, 'no', 'on']) {
      const answer = await erase(who.email, admin, confirm)
      expect(answer.status).toBe(400)
      expect((answer.body as { fieldErrors: Record<string, string> }).fieldErrors.confirm).toMatch(/Tick the box/)
    }
    expect(await db.selectFrom('supporters').select(['email', 'erased_at']).where('id', '=', supporterId).executeTakeFirstOrThrow()).toEqual({ email: who.email, erased_at: null })
    expect(await auditRows('supporter.erased')).toEqual(expect.not.arrayContaining([expect.objectContaining({ subject_id: supporterId })]))
  })
})

describe('export', () => {
  test('holds every kind of record of the supporter, and nothing of anyone else', async () => {
    const who = person('export')
    const other = person('other')
    const seeded = await seedSupporter(who, appeal, event)
    const otherSeeded = await seedSupporter(other, appeal, event)

    const found = await find(who.email.toUpperCase(), staffCookie)
    expect(found.status).toBe(200)
    const summary = (found.body as { summary: { supporter: { id: string }; counts: { kind: string; count: number }[] } }).summary
    expect(summary.supporter.id).toBe(seeded.supporterId)

    const { answer, response } = await download(` ${who.email.toUpperCase()} `, staffCookie)
    expect(answer.status).toBe(200)
    expect(response!.headers.get('Cache-Control')).toBe('no-store')
    expect(response!.headers.get('Content-Disposition')).toMatch(/^attachment; filename="supporter-[0-9a-f-]{36}-\d{4}-\d{2}-\d{2}\.json"$/)
    expect(response!.headers.get('Content-Type')).toMatch(/^application\/json/)
    const text = await response!.text()
    const file = JSON.parse(text) as Record<string, unknown[]> & { supporter: { id: string; email: string; name: string } }

    expect(file.supporter).toMatchObject({ id: seeded.supporterId, email: who.email, name: who.name })
    for (const kind of [
      'donations',
      'donationEvents',
      'ledgerEntries',
      'recurringPlans',
      'giftAidDeclarations',
      'registrations',
      'savers',
      'savedEvents',
      'saverLinks',
      'emails',
      'devMailbox',
      'emailSuppressions',
      'appealsCountedAsDonor',
      'currenciesCountedAsDonor',
      'staffActivity',
    ]) {
      expect(file[kind], kind).toBeInstanceOf(Array)
      expect(file[kind]!.length, kind).toBeGreaterThan(0)
    }
    expect(file.donations!.map((row) => (row as { id: string }).id).sort()).toEqual([...seeded.donationIds].sort())
    expect(file.donations).toEqual(
      expect.arrayContaining([expect.objectContaining({ amount_minor: 4_000, refunded_minor: 1_000, status: 'confirmed', stripe_payment_intent_id: expect.stringMatching(/^pi_/) })]),
    )
    expect(file.registrations).toEqual([expect.objectContaining({ name: who.name, access_needs: who.accessNeeds, status: 'confirmed' })])
    expect(file.giftAidDeclarations).toEqual([expect.objectContaining({ full_name: who.name, address: who.address })])
    expect(file.emails).toEqual(expect.arrayContaining([expect.objectContaining({ template: 'donation-receipt', subject: expect.any(String), status: expect.any(String) })]))
    expect(text).toContain(who.message)
    // Credentials are not data about the person, and never leave.
    expect(text).not.toMatch(/token_hash|checkin_token/)
    expect(file.consents).toMatchObject({ donations: expect.arrayContaining([expect.objectContaining({ appealUpdates: true, giftAid: true })]) })

    for (const foreign of [other.email, other.name, other.message, otherSeeded.supporterId, ...otherSeeded.donationIds]) {
      expect(text, foreign).not.toContain(foreign)
    }

    const exports = await auditRows('supporter.export')
    const entry = exports.at(-1)!
    expect(entry).toMatchObject({ subject_type: 'supporter', subject_id: seeded.supporterId })
    expect(JSON.stringify(entry)).not.toContain(who.email)
    expect((await auditRows('supporter.lookup')).at(-1)).toMatchObject({ subject_id: seeded.supporterId })
  })

  test('an address we hold nothing under is an empty answer, still audited', async () => {
    const email = `nobody-${randomUUID().slice(0, 8)}@example.org`
    const found = await find(email, staffCookie)
    expect(found).toMatchObject({ status: 200, body: { summary: { holdsAnything: false, supporter: null } } })
    const { response } = await download(email, staffCookie)
    expect(JSON.parse(await response!.text())).toMatchObject({ supporter: null, donations: [] })
    expect((await auditRows('supporter.export')).at(-1)).toMatchObject({ subject_id: null, details: { found: false } })
  })
})

describe('erasure', () => {
  test('removes their email, name and message from the whole database; totals and the ledger stay the same', async () => {
    const who = person('erase')
    const other = person('keep')
    const seeded = await seedSupporter(who, appeal, event)
    await seedSupporter(other, appeal, event, { giftAidYearsAgo: 8 })
    // Every string is somewhere before: the search below can find them.
    expect(await whereInDatabase(who.email)).toEqual(expect.arrayContaining(['supporters.email', 'donations.donor_email', 'registrations.email', 'email_outbox.to_address', 'saver_links.email', 'audit_log.details', 'stripe_inbox.payload']))
    expect(await whereInDatabase(who.message)).toEqual(expect.arrayContaining(['donations.message', 'dev_mailbox.text']))
    const before = await moneySnapshot(appeal.id)

    expect((await find(who.email, admin, 'review-erase')).status).toBe(200)
    const answer = await erase(who.email, admin, 'yes')
    expect(answer.status).toBe(303)
    expect(answer.headers.get('Location')).toBe('/staff/supporters?done=erased')

    expect(await whereInDatabase(who.email)).toEqual([])
    expect(await whereInDatabase(who.message)).toEqual([])
    expect(await whereInDatabase(who.accessNeeds)).toEqual([])
    expect(await whereInDatabase(who.address)).toEqual([])
    // The Gift Aid declaration covers a gift HMRC may still ask about: only what a claim lists stays.
    expect(await whereInDatabase(who.name)).toEqual(['gift_aid_declarations.full_name'])
    expect(await db.selectFrom('gift_aid_declarations').select(['full_name', 'house_name_or_number', 'postcode', 'address']).where('id', '=', seeded.declarationId).executeTakeFirstOrThrow()).toEqual({
      full_name: who.name,
      house_name_or_number: '12',
      postcode: 'LS1 4AP',
      address: '',
    })

    expect(await moneySnapshot(appeal.id)).toEqual(before)
    expect(await db.selectFrom('supporters').select(['email', 'name']).where('id', '=', seeded.supporterId).executeTakeFirstOrThrow()).toEqual({ email: null, name: null })
    // The other supporter is untouched.
    expect(await whereInDatabase(other.email)).toEqual(expect.arrayContaining(['supporters.email', 'donations.donor_email', 'registrations.email']))
    expect(await whereInDatabase(other.message)).toContain('donations.message')

    const entry = (await auditRows('supporter.erased')).at(-1)!
    expect(entry).toMatchObject({ subject_type: 'supporter', subject_id: seeded.supporterId })
    expect(JSON.stringify(entry)).not.toContain(who.email)
    expect(JSON.stringify(entry)).not.toContain(who.name)
    expect((entry.details as { giftAidKeptUntil: string | null }).giftAidKeptUntil).toMatch(/^\d{4}-/)

    // Emails not sent will not be; the place they had is still taken, its reminder goes nowhere.
    const unsent = await db.selectFrom('email_outbox').select('status').where('to_address', 'like', '%@erased.invalid').where('status', 'in', ['queued', 'sending', 'failed']).execute()
    expect(unsent).toEqual([])
    const registration = await db.selectFrom('registrations').select(['name', 'email', 'status']).where('supporter_id', '=', seeded.supporterId).executeTakeFirstOrThrow()
    expect(registration).toMatchObject({ name: 'Erased', status: 'confirmed' })
    expect(await db.selectFrom('email_suppressions').select('email').where('email', '=', registration.email).executeTakeFirst()).toBeTruthy()

    // The address is forgotten: finding it again finds nothing, and erasing again has nothing to do.
    expect(await find(who.email, admin)).toMatchObject({ status: 200, body: { summary: { holdsAnything: false } } })
    expect(await erase(who.email, admin, 'yes')).toMatchObject({ status: 400, body: { fieldErrors: { form: expect.stringMatching(/nothing/) } } })

    // Once HMRC no longer needs the declaration, the nightly purge finishes the erasure.
    await db.updateTable('donations').set({ confirmed_at: sql<Date>`now() - interval '8 years'` }).where('id', 'in', seeded.donationIds).where('status', '=', 'confirmed').execute()
    const purged = await purgeAbandonedCheckouts(db, { days: 30 })
    expect(purged.keptGiftAidDeclarationsEnded).toBe(1)
    expect(await whereInDatabase(who.name)).toEqual([])
    expect((await purgeAbandonedCheckouts(db, { days: 30 })).keptGiftAidDeclarationsEnded).toBe(0)
  })

  test('a declaration HMRC no longer needs is erased with everything else', async () => {
    const who = person('oldgiftaid')
    const seeded = await seedSupporter(who, appeal, event, { giftAidYearsAgo: 8 })
    const result = await eraseSupporter(db, (await createStaff('admin')).id, who.email)
    expect(result).toMatchObject({ ok: true, supporterId: seeded.supporterId, giftAidKeptUntil: null })
    for (const text of [who.email, who.name, who.message, who.address, who.accessNeeds]) expect(await whereInDatabase(text), text).toEqual([])
  })

  test('a place they keep for an event to come gets no reminder: the email is suppressed, not sent', async () => {
    const who = person('reminded')
    const soon = await createEvent({ capacity: 10 })
    await seedSupporter(who, appeal, soon)
    expect((await eraseSupporter(db, (await createStaff('admin')).id, who.email)).ok).toBe(true)
    const startsAt = (await db.selectFrom('events').select('starts_at').where('id', '=', soon.eventId).executeTakeFirstOrThrow()).starts_at
    await sendEventReminders(db, new Date(startsAt.getTime() - 60 * 60 * 1000))
    const reminder = await db
      .selectFrom('email_outbox as o')
      .innerJoin('registrations as r', 'r.email', 'o.to_address')
      .select(['o.id', 'o.to_address'])
      .where('o.template', '=', 'event-reminder')
      .where('r.event_id', '=', soon.eventId)
      .executeTakeFirstOrThrow()
    expect(reminder.to_address).toMatch(/@erased\.invalid$/)
    clearResendCalls()
    // Erased, the place has no check-in code and the reminder no QR code: it would go in a batch.
    const worker = { id: randomUUID(), startedAt: new Date() }
    const result = await sendEmailBatches(db, { sender: createResendSender('re_test_key'), from: 'CAGE <appeals@example.org>', giveUpAfterMs: DAY, worker })
    expect(result.suppressed).toBeGreaterThanOrEqual(1)
    expect((await db.selectFrom('email_outbox').select('status').where('id', '=', reminder.id).executeTakeFirstOrThrow()).status).toBe('suppressed')
    expect(resendCalls).toHaveLength(0)
    expect(resendBatchCalls.flatMap((call) => call.emails.map((email) => email.to))).not.toContainEqual([reminder.to_address])
  })

  test('is refused while a monthly gift runs or a payment is in flight, and changes nothing', async () => {
    const who = person('running')
    const seeded = await seedSupporter(who, appeal, event)
    await db.updateTable('recurring_plans').set({ status: 'active' }).where('id', '=', seeded.planId).execute()
    const pending = await db
      .insertInto('donations')
      .values({ appeal_id: appeal.id, supporter_id: seeded.supporterId, frequency: 'one_off', amount_minor: 500, currency: 'GBP', donor_name: who.name, donor_email: who.email })
      .returning('id')
      .executeTakeFirstOrThrow()
    const audited = (await auditRows('supporter.erased')).length

    const answer = await erase(who.email, admin, 'yes')
    expect(answer.status).toBe(400)
    const body = answer.body as { summary: { blockers: string[] } }
    expect(body.summary.blockers).toEqual([expect.stringMatching(/monthly gift/), expect.stringMatching(/payment is still being made/)])
    expect(await db.selectFrom('supporters').select('email').where('id', '=', seeded.supporterId).executeTakeFirstOrThrow()).toEqual({ email: who.email })
    expect((await auditRows('supporter.erased')).length).toBe(audited)

    await db.updateTable('recurring_plans').set({ status: 'cancelled' }).where('id', '=', seeded.planId).execute()
    await db.updateTable('donations').set({ status: 'abandoned' }).where('id', '=', pending.id).execute()
    expect((await erase(who.email, admin, 'yes')).status).toBe(303)
  })
})

describe('retention of checkouts that never completed', () => {
  test('runs nightly from the worker schedule, with the configured number of days', async () => {
    const item = parseCrontab(CRONTAB).find((cron) => cron.task === PURGE_ABANDONED_CHECKOUTS_TASK)
    expect(item).toBeDefined()
    expect(item!.match).toBeTypeOf('function')
    const task = createTaskList()[PURGE_ABANDONED_CHECKOUTS_TASK]
    expect(task).toBeTypeOf('function')
    await (task as (payload: unknown, helpers: unknown) => Promise<void>)({}, {})
  })

  test('purges the personal data of old unfinished checkouts only, and a second run changes nothing', async () => {
    const now = new Date()
    const old = new Date(now.getTime() - 40 * DAY)
    const quitter = person('quitter')
    const giver = person('giver')
    const recent = person('recent')
    const waiter = person('waiter')

    // Someone who only ever started a checkout, with Gift Aid, 40 days ago.
    const quitterRow = await db.insertInto('supporters').values({ email: quitter.email, name: quitter.name, created_at: old }).returning('id').executeTakeFirstOrThrow()
    const declaration = await db
      .insertInto('gift_aid_declarations')
      .values({ supporter_id: quitterRow.id, full_name: quitter.name, house_name_or_number: '3', address: quitter.address, postcode: 'E1 6AN', declaration_text: 'I am a UK taxpayer.' })
      .returning('id')
      .executeTakeFirstOrThrow()
    const quitterDonation = await db
      .insertInto('donations')
      .values({ appeal_id: appeal.id, supporter_id: quitterRow.id, frequency: 'one_off', amount_minor: 900, currency: 'GBP', status: 'abandoned', donor_name: quitter.name, donor_email: quitter.email, message: quitter.message, gift_aid_declaration_id: declaration.id, created_at: old })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('email_outbox')
      .values({ template: 'waitlist-joined', idempotency_key: `test/${randomUUID()}`, to_address: quitter.email, props: JSON.stringify({ name: quitter.name }), status: 'sent', created_at: old })
      .execute()

    // Someone who gave (confirmed) and also abandoned a checkout: only the abandoned one is purged.
    const giverRow = await db.insertInto('supporters').values({ email: giver.email, name: giver.name, created_at: old }).returning('id').executeTakeFirstOrThrow()
    const giverConfirmed = await db
      .insertInto('donations')
      .values({ appeal_id: appeal.id, supporter_id: giverRow.id, frequency: 'one_off', amount_minor: 1_200, currency: 'GBP', donor_name: giver.name, donor_email: giver.email, message: giver.message, created_at: old })
      .returning('id')
      .executeTakeFirstOrThrow()
    await deliver(stripeEvent('checkout.session.completed', completedSession({ donationId: giverConfirmed.id, amountMinor: 1_200 })))
    const giverAbandoned = await db
      .insertInto('donations')
      .values({ appeal_id: appeal.id, supporter_id: giverRow.id, frequency: 'one_off', amount_minor: 300, currency: 'GBP', status: 'pending', donor_name: giver.name, donor_email: giver.email, created_at: old })
      .returning('id')
      .executeTakeFirstOrThrow()

    // A checkout abandoned yesterday is kept until its time comes.
    const recentRow = await db.insertInto('supporters').values({ email: recent.email, name: recent.name }).returning('id').executeTakeFirstOrThrow()
    const recentDonation = await db
      .insertInto('donations')
      .values({ appeal_id: appeal.id, supporter_id: recentRow.id, frequency: 'one_off', amount_minor: 400, currency: 'GBP', status: 'abandoned', donor_name: recent.name, donor_email: recent.email, created_at: new Date(now.getTime() - DAY) })
      .returning('id')
      .executeTakeFirstOrThrow()

    // A paid place whose hold ran out 40 days ago, and a confirmed place of the same age.
    const waiterRow = await db.insertInto('supporters').values({ email: waiter.email, name: waiter.name, created_at: old }).returning('id').executeTakeFirstOrThrow()
    const registration = (status: 'expired' | 'confirmed', email: string) =>
      db
        .insertInto('registrations')
        .values({
          event_id: event.eventId,
          ticket_type_id: event.ticketTypeId,
          supporter_id: status === 'expired' ? waiterRow.id : giverRow.id,
          name: status === 'expired' ? waiter.name : giver.name,
          email,
          currency: 'GBP',
          status,
          access_needs: status === 'expired' ? waiter.accessNeeds : giver.accessNeeds,
          privacy_consent_at: old,
          confirmed_at: status === 'confirmed' ? old : null,
          created_at: old,
          updated_at: old,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    const expired = await registration('expired', waiter.email)
    const confirmed = await registration('confirmed', giver.email)
    const oldLink = await db.insertInto('savers').values({ alerts_reminder: false }).returning('id').executeTakeFirstOrThrow()
    await db.insertInto('saver_links').values({ token_hash: randomUUID(), saver_id: oldLink.id, email: recent.email, expires_at: old }).execute()

    const before = await moneySnapshot(appeal.id)
    const first = await purgeAbandonedCheckouts(db, { days: 30, now })
    expect(first).toMatchObject({ giftAidDeclarations: 1, registrations: 1, saverLinks: 1, emails: 1 })
    expect(first.donations).toBeGreaterThanOrEqual(2)
    expect(first.supporters).toBeGreaterThanOrEqual(2)

    // The quitter and the waiter are forgotten entirely.
    for (const text of [quitter.email, quitter.name, quitter.message, quitter.address, waiter.email, waiter.name, waiter.accessNeeds]) {
      expect(await whereInDatabase(text), text).toEqual([])
    }
    expect(await db.selectFrom('donations').select(['donor_name', 'donor_email', 'message', 'amount_minor', 'status']).where('id', '=', quitterDonation.id).executeTakeFirstOrThrow()).toEqual({
      donor_name: null,
      donor_email: null,
      message: null,
      amount_minor: 900,
      status: 'abandoned',
    })
    expect(await db.selectFrom('registrations').select(['name', 'access_needs', 'status']).where('id', '=', expired.id).executeTakeFirstOrThrow()).toEqual({ name: 'Erased', access_needs: null, status: 'expired' })

    // The giver keeps their confirmed gift and place; only the abandoned checkout is blank.
    expect(await db.selectFrom('donations').select(['donor_email', 'message']).where('id', '=', giverConfirmed.id).executeTakeFirstOrThrow()).toEqual({ donor_email: giver.email, message: giver.message })
    expect(await db.selectFrom('donations').select(['donor_email', 'donor_name']).where('id', '=', giverAbandoned.id).executeTakeFirstOrThrow()).toEqual({ donor_email: null, donor_name: null })
    expect(await db.selectFrom('registrations').select(['name', 'email', 'access_needs']).where('id', '=', confirmed.id).executeTakeFirstOrThrow()).toEqual({ name: giver.name, email: giver.email, access_needs: giver.accessNeeds })
    expect(await db.selectFrom('supporters').select(['email', 'name']).where('id', '=', giverRow.id).executeTakeFirstOrThrow()).toEqual({ email: giver.email, name: giver.name })
    // Yesterday's checkout waits.
    expect(await db.selectFrom('donations').select('donor_email').where('id', '=', recentDonation.id).executeTakeFirstOrThrow()).toEqual({ donor_email: recent.email })
    expect(await db.selectFrom('supporters').select('email').where('id', '=', recentRow.id).executeTakeFirstOrThrow()).toEqual({ email: recent.email })

    expect(await moneySnapshot(appeal.id)).toEqual(before)
    const second = await purgeAbandonedCheckouts(db, { days: 30, now })
    expect(second).toEqual({ donations: 0, giftAidDeclarations: 0, registrations: 0, saverLinks: 0, supporters: 0, emails: 0, keptGiftAidDeclarationsEnded: 0 })
    expect(await moneySnapshot(appeal.id)).toEqual(before)
  })
})

describe('retention of anonymous savers', () => {
  test('the nightly job deletes savers unused for SAVER_RETENTION_DAYS with their saves, and keeps any an email still uses', async () => {
    const now = new Date()
    const old = new Date(now.getTime() - 200 * DAY)
    const past = await createEvent({ capacity: 10, startsInHours: -100 * 24 })
    const coming = await createEvent({ capacity: 10, startsInHours: 30 * 24 })
    const saver = async (values: { created_at: Date; supporter_id?: string | null }, saves: { eventId: string; created_at: Date }[] = []) => {
      const row = await db.insertInto('savers').values({ supporter_id: values.supporter_id ?? null, created_at: values.created_at }).returning('id').executeTakeFirstOrThrow()
      for (const save of saves) await db.insertInto('saved_events').values({ saver_id: row.id, event_id: save.eventId, created_at: save.created_at }).execute()
      return row.id
    }
    const supporter = async (tag: string) =>
      (await db.insertInto('supporters').values({ email: person(tag).email, created_at: old }).returning('id').executeTakeFirstOrThrow()).id

    const forgottenSaves = await saver({ created_at: old }, [{ eventId: past.eventId, created_at: old }])
    const neverSaved = await saver({ created_at: old })
    const upcomingSave = await saver({ created_at: old }, [{ eventId: coming.eventId, created_at: old }])
    const recentSave = await saver({ created_at: old }, [{ eventId: past.eventId, created_at: new Date(now.getTime() - 10 * DAY) }])
    const newSaver = await saver({ created_at: new Date(now.getTime() - 5 * DAY) })
    // Linked to an email: kept while the email has a place at an event to come.
    const attendee = await supporter('attendee')
    const attendeeSaver = await saver({ created_at: old, supporter_id: attendee }, [{ eventId: past.eventId, created_at: old }])
    await db
      .insertInto('registrations')
      .values({ event_id: coming.eventId, ticket_type_id: coming.ticketTypeId, supporter_id: attendee, name: 'A', email: person('attendee').email, currency: 'GBP', status: 'confirmed', privacy_consent_at: old })
      .execute()
    // Linked to an email whose other device still saves events to come.
    const twoDevices = await supporter('two-devices')
    const idleDevice = await saver({ created_at: old, supporter_id: twoDevices })
    await saver({ created_at: old, supporter_id: twoDevices }, [{ eventId: coming.eventId, created_at: old }])
    // Linked to an email with nothing live any more.
    const lapsed = await supporter('lapsed')
    const lapsedSaver = await saver({ created_at: old, supporter_id: lapsed }, [{ eventId: past.eventId, created_at: old }])

    const task = createTaskList()[PURGE_ABANDONED_CHECKOUTS_TASK] as (payload: unknown, helpers: unknown) => Promise<void>
    await task({}, {})

    const left = new Set((await db.selectFrom('savers').select('id').execute()).map((row) => row.id))
    for (const gone of [forgottenSaves, neverSaved, lapsedSaver]) expect(left.has(gone), gone).toBe(false)
    for (const kept of [upcomingSave, recentSave, newSaver, attendeeSaver, idleDevice]) expect(left.has(kept), kept).toBe(true)
    // Their saves went with them; the supporter rows are the other job's business.
    expect(await db.selectFrom('saved_events').select('saver_id').where('saver_id', 'in', [forgottenSaves, lapsedSaver]).execute()).toEqual([])
    expect(await db.selectFrom('supporters').select('id').where('id', '=', lapsed).execute()).toHaveLength(1)

    expect(await purgeUnusedSavers(db, { days: 180, now })).toEqual({ savers: 0, saves: 0 })
  })
})
