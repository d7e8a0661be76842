import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { emailSchedulingSettled } from '#app/modules/email/outbox.server.ts'
import { applyDueStripeEvents, stripeWakeSettled } from '#app/modules/payments/stripe-inbox.server.ts'
import { signWebhookPayload } from '#app/modules/payments/stripe.server.ts'
import { action as stripeWebhook } from '#app/routes/webhooks.stripe.ts'
import { getDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'

export const TEST_WEBHOOK_SECRET = 'whsec_test_webhook_secret_for_sanad'

/** Stripe is "online" in these tests: requests go to the msw fake of its API. */
export function useTestStripe() {
  process.env.STRIPE_SECRET_KEY = 'sk_test_sanad'
  process.env.STRIPE_WEBHOOK_SECRET = TEST_WEBHOOK_SECRET
  resetEnvForTests()
}

export async function createAppeal(options: { currency?: string; goalMinor?: number } = {}) {
  return getDb()
    .transaction()
    .execute(async (trx) => {
      const appeal = await trx
        .insertInto('appeals')
        .values({
          slug: `appeal-${randomUUID().slice(0, 8)}`,
          title: 'Test appeal',
          summary: 'For the tests',
          beneficiary_name: 'Test beneficiary',
          story_markdown: 'Story',
          currency: options.currency ?? 'GBP',
          goal_minor: options.goalMinor ?? 1_000_000,
          suggested_amounts_minor: [1_000, 2_500],
          status: 'published',
          published_at: new Date(),
        })
        .returning(['id', 'slug', 'currency'])
        .executeTakeFirstOrThrow()
      return appeal
    })
}

/** A pending donation as checkout leaves it, without going through Stripe. */
export async function createPendingDonation(options: {
  appealId: string
  amountMinor: number
  currency?: string
  email?: string
  frequency?: 'one_off' | 'monthly'
  giftAid?: boolean
}) {
  const db = getDb()
  const email = options.email ?? `donor-${randomUUID().slice(0, 8)}@example.org`
  const supporter = await sql<{ id: string }>`
    insert into supporters (email, name) values (${email}, 'Test Donor')
    on conflict ((lower(email))) do update set name = excluded.name returning id`.execute(db)
  const supporterId = supporter.rows[0]!.id
  let recurringPlanId: string | null = null
  if (options.frequency === 'monthly') {
    recurringPlanId = (
      await db
        .insertInto('recurring_plans')
        .values({ appeal_id: options.appealId, supporter_id: supporterId, amount_minor: options.amountMinor, currency: options.currency ?? 'GBP' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
  }
  const giftAidDeclarationId = options.giftAid
    ? (
        await db
          .insertInto('gift_aid_declarations')
          .values({
            supporter_id: supporterId,
            full_name: 'Test Donor',
            house_name_or_number: '1',
            address: 'Test Street, London',
            postcode: 'N1 1AA',
            declaration_text: 'I am a UK taxpayer.',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id
    : null
  const donation = await db
    .insertInto('donations')
    .values({
      appeal_id: options.appealId,
      supporter_id: supporterId,
      recurring_plan_id: recurringPlanId,
      gift_aid_declaration_id: giftAidDeclarationId,
      frequency: options.frequency ?? 'one_off',
      amount_minor: options.amountMinor,
      currency: options.currency ?? 'GBP',
      donor_name: 'Test Donor',
      donor_email: email,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return { donationId: donation.id, supporterId, recurringPlanId, email }
}

export function signedStripeRequest(event: object, options: { secret?: string; timestamp?: number; body?: string } = {}) {
  const payload = JSON.stringify(event)
  const signature = signWebhookPayload(payload, options.secret ?? TEST_WEBHOOK_SECRET, options.timestamp)
  return new Request('http://localhost/webhooks/stripe', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body: options.body ?? payload,
  })
}

/**
 * Delivers one event as Stripe does, through the webhook route into the inbox, then plays the
 * worker: applies whatever is due, as the applier job woken by the delivery would. Deliveries
 * made at the same time apply at the same time, each in its own lane.
 */
export async function deliver(event: object, options: Parameters<typeof signedStripeRequest>[1] = {}) {
  const response = await stripeWebhook({ request: signedStripeRequest(event, options), params: {}, context: {} })
  await applyStripeInbox()
  return response.status
}

/** What the worker's applier job does, for tests that put events into the inbox. */
export async function applyStripeInbox() {
  await stripeWakeSettled()
  const counts = await applyDueStripeEvents(getDb(), { maxAttempts: 8 })
  // The receipt's delivery job is added just after the commit; tests look at it, so wait for it.
  await emailSchedulingSettled()
  return counts
}

export async function appealTotals(appealId: string) {
  return getDb().selectFrom('appeal_totals').selectAll().where('appeal_id', '=', appealId).executeTakeFirstOrThrow()
}

/** What the ledger says, computed from its rows alone. */
export async function ledgerTotals(appealId: string) {
  const { rows } = await sql<{ gross: number; refunded: number; disputed: number; giftAidEligible: number }>`
    select
      coalesce(sum(l.amount_minor) filter (where l.kind = 'charge'), 0)::bigint as gross,
      coalesce(-sum(l.amount_minor) filter (where l.kind = 'refund'), 0)::bigint as refunded,
      coalesce(-sum(l.amount_minor) filter (where l.kind in ('dispute_hold', 'dispute_release')), 0)::bigint as disputed,
      coalesce(sum(l.amount_minor) filter (where d.gift_aid_declaration_id is not null), 0)::bigint as "giftAidEligible"
    from ledger_entries l join donations d on d.id = l.donation_id
    where l.appeal_id = ${appealId}`.execute(getDb())
  const counts = await sql<{ donations: number; donors: number }>`
    select count(*)::bigint as donations, count(distinct supporter_id)::bigint as donors
    from donations where appeal_id = ${appealId} and status = 'confirmed'`.execute(getDb())
  return { ...rows[0]!, ...counts.rows[0]! }
}

/**
 * The kept-up totals that are not per appeal, beside what the ledger says: the organisation's
 * donors per currency, and each appeal's gross per UTC day.
 */
export async function keptUpBesideLedger() {
  const db = getDb()
  const donors = await sql<{ currency: string; kept: number; ledger: number }>`
    select c.currency,
           coalesce((select sum(donor_count) from organisation_donor_shards s where s.currency = c.currency), 0)::bigint as kept,
           (select count(distinct d.supporter_id) from donations d join appeals a on a.id = d.appeal_id
            where d.status = 'confirmed' and a.currency = c.currency)::bigint as ledger
    from (select distinct currency from appeals) c order by 1`.execute(db)
  const days = await sql<{ appeal_id: string; day: string; kept: number; ledger: number }>`
    with kept as (
      select appeal_id, day, sum(gross_minor)::bigint as gross from appeal_daily_gift_shards group by 1, 2
    ), ledger as (
      select appeal_id, (occurred_at at time zone 'UTC')::date as day, sum(amount_minor)::bigint as gross
      from ledger_entries where kind = 'charge' group by 1, 2
    )
    select coalesce(k.appeal_id, l.appeal_id) as appeal_id, to_char(coalesce(k.day, l.day), 'YYYY-MM-DD') as day,
           coalesce(k.gross, 0)::bigint as kept, coalesce(l.gross, 0)::bigint as ledger
    from kept k full join ledger l on l.appeal_id = k.appeal_id and l.day = k.day
    order by 1, 2`.execute(db)
  return { donors: donors.rows, days: days.rows }
}

export async function outboxFor(email: string) {
  // In the order they were written: rows move in the heap when their job is scheduled.
  return getDb().selectFrom('email_outbox').selectAll().where('to_address', '=', email).orderBy('created_at').orderBy('id').execute()
}
