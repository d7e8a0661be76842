import { sql } from 'kysely'
import { queueEmail } from '#app/modules/email/outbox.server.ts'
import { EMAIL_ORGANISATION_COLUMNS, toEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { DatabaseTransaction } from '#app/utils/db.server.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { stopMonthlyGiftUrl } from '#app/utils/signed-links.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'

/**
 * The donation ledger. Every movement of money is a signed `ledger_entries` row, unique per Stripe
 * object and kind, and the appeal's totals move in the same transaction, so totals always equal
 * the ledger. Locks are taken in one order: the donation first, a totals row last (its upsert is
 * each function's final statement), so webhooks for one appeal never deadlock and hold the shared
 * row only from that statement to the commit.
 */

type Trx = DatabaseTransaction

const TOTAL_SHARDS = 16

type TotalsChange = {
  confirmedGrossMinor?: number
  refundedMinor?: number
  disputedMinor?: number
  giftAidEligibleMinor?: number
}

/**
 * The totals rows a transaction adds to: one of sixteen per key, fixed for the transaction. A
 * transaction that applies a batch of events (the Stripe inbox's applier) holds every row it
 * touched until its commit, so it keeps to one shard rather than locking several; and the
 * transactions of one process take the shards in turn (from a random start, so that two
 * processes seldom line up), so the applier's lanes never wait for each other's shard.
 */
const shardOfTransaction = new WeakMap<Trx, number>()
let nextShard = Math.floor(Math.random() * TOTAL_SHARDS)
function shardFor(trx: Trx) {
  let shard = shardOfTransaction.get(trx)
  if (shard === undefined) {
    shard = nextShard
    nextShard = (nextShard + 1) % TOTAL_SHARDS
    shardOfTransaction.set(trx, shard)
  }
  return shard
}

/**
 * Adds a refund's or a dispute's change to one of the appeal's sixteen total rows (shardFor), so
 * that webhooks for one appeal seldom wait on each other (`appeal_totals` sums the rows). Always
 * the last statement of a money transaction: the row is held only until the commit.
 */
async function addToAppealTotals(trx: Trx, appealId: string, change: TotalsChange) {
  await sql`
    insert into appeal_total_shards as s
      (appeal_id, shard, confirmed_gross_minor, refunded_minor, disputed_minor, gift_aid_eligible_minor)
    values (${appealId}, ${shardFor(trx)}, ${change.confirmedGrossMinor ?? 0}, ${change.refundedMinor ?? 0},
            ${change.disputedMinor ?? 0}, ${change.giftAidEligibleMinor ?? 0})
    on conflict (appeal_id, shard) do update set
      confirmed_gross_minor = s.confirmed_gross_minor + excluded.confirmed_gross_minor,
      refunded_minor = s.refunded_minor + excluded.refunded_minor,
      disputed_minor = s.disputed_minor + excluded.disputed_minor,
      gift_aid_eligible_minor = s.gift_aid_eligible_minor + excluded.gift_aid_eligible_minor,
      updated_at = now()`.execute(trx)
}

/**
 * Everything a confirmation writes, in one statement (one round trip) that is its last: the
 * charge in the ledger, the donation's new state and its history, the appeal's totals, its donor
 * count (the appeal_donors primary key decides who is new, even for two gifts from one donor at
 * once), the organisation's donors per currency, and the day's gross for the chart. Each shared
 * totals row is a random one of sixteen per key, held only from here to the commit.
 */
async function writeConfirmation(trx: Trx, donation: { id: string; appeal_id: string; supporter_id: string; currency: string; gift_aid_declaration_id: string | null }, confirmation: Confirmation) {
  const shard = shardFor(trx)
  const giftAidMinor = donation.gift_aid_declaration_id === null ? 0 : confirmation.chargedMinor
  await sql`
    with charge as (
      insert into ledger_entries (donation_id, appeal_id, kind, amount_minor, currency, stripe_object_id, stripe_event_id, occurred_at)
      values (${donation.id}, ${donation.appeal_id}, 'charge', ${confirmation.chargedMinor}, ${donation.currency},
              ${confirmation.chargeObjectId}, ${confirmation.stripeEventId}, ${confirmation.occurredAt})
    ), confirmed as (
      update donations set
        status = 'confirmed',
        confirmed_at = ${confirmation.occurredAt},
        stripe_payment_intent_id = coalesce(${confirmation.paymentIntentId}, stripe_payment_intent_id),
        stripe_invoice_id = coalesce(${confirmation.invoiceId}, stripe_invoice_id),
        updated_at = now()
      where id = ${donation.id}
    ), history as (
      insert into donation_events (donation_id, type, detail, stripe_event_id)
      values (${donation.id}, 'confirmed', ${JSON.stringify({ chargedMinor: confirmation.chargedMinor })}::jsonb, ${confirmation.stripeEventId})
    ), appeal_donor as (
      insert into appeal_donors (appeal_id, supporter_id, first_donation_id)
      values (${donation.appeal_id}, ${donation.supporter_id}, ${donation.id})
      on conflict (appeal_id, supporter_id) do nothing
      returning 1
    ), organisation_donor as (
      insert into organisation_donors (currency, supporter_id)
      values (${donation.currency}, ${donation.supporter_id})
      on conflict (currency, supporter_id) do nothing
      returning 1
    ), organisation_count as (
      insert into organisation_donor_shards as o (currency, shard, donor_count)
      select ${donation.currency}, ${shard}, 1 from organisation_donor
      on conflict (currency, shard) do update set donor_count = o.donor_count + 1
    ), daily as (
      insert into appeal_daily_gift_shards as g (appeal_id, day, shard, currency, gross_minor, donation_count)
      values (${donation.appeal_id}, (${confirmation.occurredAt}::timestamptz at time zone 'UTC')::date, ${shard}, ${donation.currency},
              ${confirmation.chargedMinor}, 1)
      on conflict (appeal_id, day, shard) do update set
        gross_minor = g.gross_minor + excluded.gross_minor,
        donation_count = g.donation_count + 1
    )
    insert into appeal_total_shards as s
      (appeal_id, shard, confirmed_gross_minor, donation_count, donor_count, gift_aid_eligible_minor)
    select ${donation.appeal_id}, ${shard}, ${confirmation.chargedMinor}, 1, (select count(*) from appeal_donor), ${giftAidMinor}
    on conflict (appeal_id, shard) do update set
      confirmed_gross_minor = s.confirmed_gross_minor + excluded.confirmed_gross_minor,
      donation_count = s.donation_count + 1,
      donor_count = s.donor_count + excluded.donor_count,
      gift_aid_eligible_minor = s.gift_aid_eligible_minor + excluded.gift_aid_eligible_minor,
      updated_at = now()`.execute(trx)
}

async function lockDonation(trx: Trx, donationId: string) {
  return trx.selectFrom('donations').selectAll().where('id', '=', donationId).forUpdate().executeTakeFirstOrThrow()
}

export async function recordDonationEvent(
  trx: Trx,
  donationId: string,
  type: string,
  detail: Record<string, unknown>,
  stripeEventId: string | null,
) {
  await trx
    .insertInto('donation_events')
    .values({ donation_id: donationId, type, detail: JSON.stringify(detail), stripe_event_id: stripeEventId })
    .execute()
}

export type Confirmation = {
  /** The Stripe object whose money this is: a payment intent, or an invoice for monthly gifts. */
  chargeObjectId: string
  chargedMinor: number
  paymentIntentId: string | null
  invoiceId: string | null
  occurredAt: Date
  stripeEventId: string
}

/**
 * Confirms a donation exactly once, whichever event says so first: adds the charge to the ledger
 * and the totals, and enqueues the receipt in the same transaction.
 * Returns false when it was already confirmed.
 */
export async function confirmDonation(trx: Trx, donationId: string, confirmation: Confirmation, alreadyRead?: DonationToConfirm): Promise<boolean> {
  // The donation is locked and its receipt's details read in one statement, unless the event's
  // first statement did both (recordCheckoutSession) and nothing since has changed the row.
  const donation = alreadyRead?.id === donationId ? alreadyRead : await receiptDetails(trx, donationId, { lock: true })
  if (donation.status === 'confirmed') return false
  await enqueueReceipt(trx, { ...donation, confirmed_at: confirmation.occurredAt }, confirmation.chargedMinor)
  await writeConfirmation(trx, donation, confirmation)
  return true
}

/**
 * Staff: queues the donation's receipt once more. A new key is needed because the outbox sends
 * each key once, ever; the timestamp makes a double click within one millisecond harmless.
 * Returns false when there is no address to send to.
 */
export async function resendReceipt(trx: Trx, donationId: string, at: Date = new Date()): Promise<boolean> {
  const charged = await trx
    .selectFrom('ledger_entries')
    .select((eb) => [eb.fn.sum<string>('amount_minor').as('sum'), eb.fn.countAll<string>().as('n')])
    .where('donation_id', '=', donationId)
    .where('kind', '=', 'charge')
    .executeTakeFirstOrThrow()
  const chargedMinor = Number(charged.n) > 0 ? Number(charged.sum) : undefined
  return enqueueReceipt(trx, await receiptDetails(trx, donationId), chargedMinor, `/resend-${at.getTime()}`)
}

/** What confirming a donation reads of it: the row, the appeal, and the organisation for its receipt. */
const DONATION_TO_CONFIRM_COLUMNS = [
  'd.id',
      'd.status',
      'd.appeal_id',
      'd.supporter_id',
      'd.frequency',
      'd.amount_minor',
      'd.fee_cover_minor',
      'd.currency',
      'd.donor_name',
      'd.donor_email',
      'd.confirmed_at',
      'd.gift_aid_declaration_id',
      'd.recurring_plan_id',
      'a.title',
      'a.slug',
      ...EMAIL_ORGANISATION_COLUMNS.map((column) => `o.${column}` as const),
] as const

export type DonationToConfirm = Awaited<ReturnType<typeof receiptDetails>>

/** A donation with what its receipt shows: the appeal, and the organisation (joined in, not read apart). */
function receiptDetails(trx: Trx, donationId: string, options: { lock?: boolean } = {}) {
  return trx
    .selectFrom('donations as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .leftJoin('organisation as o', (join) => join.on('o.id', '=', 1))
    .select(DONATION_TO_CONFIRM_COLUMNS)
    .where('d.id', '=', donationId)
    .$if(options.lock === true, (query) => query.forUpdate(['d']))
    .executeTakeFirstOrThrow()
}

/**
 * A checkout's completion arrives: records its session and customer on the donation and, in the
 * same statement (the row now locked by the update), reads what confirming it needs, so that
 * confirmDonation need not read it again. Undefined when there is no such donation.
 */
export async function recordCheckoutSession(trx: Trx, donationId: string, ids: { sessionId: string; customerId: string | null }) {
  const row = await trx
    .updateTable('donations as d')
    .from('appeals as a')
    .leftJoin('organisation as o', (join) => join.on('o.id', '=', 1))
    .set((eb) => ({
      stripe_checkout_session_id: eb.fn.coalesce('d.stripe_checkout_session_id', eb.val(ids.sessionId)),
      stripe_customer_id: ids.customerId,
      updated_at: new Date(),
    }))
    .whereRef('a.id', '=', 'd.appeal_id')
    .where('d.id', '=', donationId)
    .returning([...DONATION_TO_CONFIRM_COLUMNS, 'd.stripe_payment_intent_id'])
    .executeTakeFirst()
  return row as (DonationToConfirm & { stripe_payment_intent_id: string | null }) | undefined
}

/** `chargedMinor`: what Stripe charged (the ledger's charge), which the receipt shows as the total. */
async function enqueueReceipt(trx: Trx, donation: Awaited<ReturnType<typeof receiptDetails>>, chargedMinor: number | undefined, keySuffix = ''): Promise<boolean> {
  if (!donation.donor_email) return false
  const common = {
    chargedMinor,
    organisation: toEmailOrganisation(donation.name === null ? undefined : donation),
    name: donation.donor_name,
    amountMinor: donation.amount_minor,
    feeCoverMinor: donation.fee_cover_minor,
    currency: donation.currency,
    appealTitle: donation.title,
    appealUrl: `${appUrl()}/appeals/${donation.slug}`,
    donationId: donation.id,
    giftAid: donation.gift_aid_declaration_id !== null,
    timeZone: organisationTimeZone(),
  }
  const confirmedAt = (donation.confirmed_at ?? new Date()).toISOString()
  if (donation.frequency === 'monthly' && donation.recurring_plan_id) {
    await queueEmail(trx, {
      template: 'monthly-gift-receipt',
      to: donation.donor_email,
      props: { ...common, instalmentDate: confirmedAt, stopUrl: stopMonthlyGiftUrl(donation.recurring_plan_id) },
      idempotencyKey: `monthly-gift-receipt/${donation.id}${keySuffix}`,
    })
  } else {
    await queueEmail(trx, {
      template: 'donation-receipt',
      to: donation.donor_email,
      props: { ...common, donatedAt: confirmedAt },
      idempotencyKey: `donation-receipt/${donation.id}${keySuffix}`,
    })
  }
  return true
}

/** Moves a donation forward to `processing`, `failed` or `abandoned`; never back from confirmed. */
export async function markDonation(
  trx: Trx,
  donationId: string,
  status: 'processing' | 'failed' | 'abandoned',
  stripeEventId: string,
) {
  const allowedFrom = { processing: ['pending'], failed: ['pending', 'processing'], abandoned: ['pending'] }[status]
  const updated = await trx
    .updateTable('donations')
    .set({ status, updated_at: new Date() })
    .where('id', '=', donationId)
    .where('status', 'in', allowedFrom as ('pending' | 'processing')[])
    .returning('id')
    .executeTakeFirst()
  if (updated) await recordDonationEvent(trx, donationId, status, {}, stripeEventId)
}

/**
 * A refund, given as Stripe reports it: the charge's cumulative refunded amount. Events may come
 * in any order, so only an amount above what we already hold moves the ledger.
 */
export async function recordRefund(
  trx: Trx,
  donationId: string,
  refund: { chargeId: string; amountRefundedMinor: number; stripeEventId: string; occurredAt: Date },
) {
  const donation = await lockDonation(trx, donationId)
  const delta = refund.amountRefundedMinor - donation.refunded_minor
  if (delta <= 0) return
  await trx
    .insertInto('ledger_entries')
    .values({
      donation_id: donation.id,
      appeal_id: donation.appeal_id,
      kind: 'refund',
      amount_minor: -delta,
      currency: donation.currency,
      stripe_object_id: `${refund.chargeId}#refunded=${refund.amountRefundedMinor}`,
      stripe_event_id: refund.stripeEventId,
      occurred_at: refund.occurredAt,
    })
    .execute()
  await trx
    .updateTable('donations')
    .set({ refunded_minor: refund.amountRefundedMinor, stripe_charge_id: refund.chargeId, updated_at: new Date() })
    .where('id', '=', donation.id)
    .execute()
  await recordDonationEvent(trx, donation.id, 'refunded', { amountMinor: delta, totalRefundedMinor: refund.amountRefundedMinor }, refund.stripeEventId)
  await addToAppealTotals(trx, donation.appeal_id, {
    refundedMinor: delta,
    giftAidEligibleMinor: donation.gift_aid_declaration_id === null ? 0 : -delta,
  })
}

/**
 * A dispute holds its amount back from the moment funds are withdrawn; winning it (or funds
 * reinstated) releases the hold, and so does its prevention (the caller then records a refund). Either may arrive first: releasing makes sure the hold exists
 * before releasing it. An inquiry withholds nothing and is only noted in the gift's history.
 */
export async function recordDispute(
  trx: Trx,
  donationId: string,
  dispute: { disputeId: string; amountMinor: number; outcome: 'inquiry' | 'open' | 'won' | 'lost' | 'prevented'; stripeEventId: string; occurredAt: Date },
) {
  const donation = await lockDonation(trx, donationId)
  if (dispute.outcome === 'inquiry') {
    await recordDonationEvent(trx, donation.id, 'dispute_inquiry', { amountMinor: dispute.amountMinor }, dispute.stripeEventId)
    return { released: false }
  }
  let disputedChange = 0
  const entry = async (kind: 'dispute_hold' | 'dispute_release', amount: number) => {
    const inserted = await trx
      .insertInto('ledger_entries')
      .values({
        donation_id: donation.id,
        appeal_id: donation.appeal_id,
        kind,
        amount_minor: amount,
        currency: donation.currency,
        stripe_object_id: dispute.disputeId,
        stripe_event_id: dispute.stripeEventId,
        occurred_at: dispute.occurredAt,
      })
      .onConflict((oc) => oc.columns(['stripe_object_id', 'kind']).doNothing())
      .returning('id')
      .executeTakeFirst()
    if (inserted) disputedChange += -amount
    return inserted !== undefined
  }
  await entry('dispute_hold', -dispute.amountMinor)
  // Prevented: the card network settled it by refunding the cardholder, so the hold is released
  // here and the money counts as refunded (the caller records the refund), never as won back.
  const released = dispute.outcome === 'won' || dispute.outcome === 'prevented' ? await entry('dispute_release', dispute.amountMinor) : false
  await recordDonationEvent(trx, donation.id, `dispute_${dispute.outcome}`, { amountMinor: dispute.amountMinor }, dispute.stripeEventId)
  if (disputedChange !== 0) {
    await trx
      .updateTable('donations')
      .set({ disputed_minor: sql`disputed_minor + ${disputedChange}`, updated_at: new Date() })
      .where('id', '=', donation.id)
      .execute()
    await addToAppealTotals(trx, donation.appeal_id, {
      disputedMinor: disputedChange,
      giftAidEligibleMinor: donation.gift_aid_declaration_id === null ? 0 : -disputedChange,
    })
  }
  return { released }
}
