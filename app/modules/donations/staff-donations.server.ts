import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { z } from 'zod'
import type { DonationFrequency, DonationStatus } from '#db/schema.ts'
import { resendReceipt } from '#app/modules/donations/ledger.server.ts'
import { isOfflineCheckout, refundPayment } from '#app/modules/payments/stripe.server.ts'
import { escapeLike, type Database } from '#app/utils/db.server.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { formatMoney, isStripeAmount, minorToDecimal, parseAmountToMinor, stripeStepMessage } from '#app/utils/money.ts'
import { ALL_STATUSES, DONATION_STATUSES, GIFT_STATUSES } from './donation-statuses.ts'
import { uuidField, isUuid } from '#app/utils/ids.ts'
import { startOfNextDayInZone, startOfDayInZone } from '#app/utils/time-zone.server.ts'
import { isoDateField } from '#app/utils/dates.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { openSearch, sealSearch, SEARCH_PURPOSE } from '#app/modules/staff/search-tokens.server.ts'

/**
 * Staff tools for donations: the filtered list, one donation with its history, refunds and
 * receipts sent again. The exports are in donations-csv and gift-aid.
 */


export const PAGE_SIZE = 50
export const EXPORT_PAGE_SIZE = 1_000

export { DONATION_STATUSES }
export const DONATION_FREQUENCIES = ['one_off', 'monthly'] as const satisfies readonly DonationFrequency[]


export const donationFiltersSchema = z
  .object({
    appeal: uuidField('Choose an appeal from the list').optional(),
    // No status means gifts only (GIFT_STATUSES); 'all' adds the checkouts that never paid.
    status: z.enum([...DONATION_STATUSES, ALL_STATUSES], { message: 'Choose a status from the list' }).optional(),
    from: isoDateField().optional(),
    to: isoDateField().optional(),
    frequency: z.enum(DONATION_FREQUENCIES, { message: 'Choose one-off or monthly' }).optional(),
    q: z.string().trim().max(200, 'Search for at most 200 characters').optional(),
  })
  .refine((filters) => !filters.from || !filters.to || filters.from <= filters.to, { message: 'The start date is after the end date', path: ['to'] })

export type DonationFilters = z.infer<typeof donationFiltersSchema>

/** A keyset position: the last row's creation time to the microsecond (as text) and its id. */
export type DonationCursor = { at: string; id: string }

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)_([0-9a-f-]{36})$/i

export function encodeCursor(cursor: DonationCursor): string {
  return `${cursor.at}_${cursor.id}`
}

export function decodeCursor(value: string | null | undefined): DonationCursor | null {
  const match = value ? CURSOR.exec(value) : null
  if (!match || !isUuid(match[2])) return null
  return { at: match[1]!, id: match[2] }
}

/** The GET form's fields; an empty field means "any", as a browser sends every field. */
export function parseDonationFilters(params: URLSearchParams) {
  const fields: Record<string, string> = {}
  for (const key of ['appeal', 'status', 'from', 'to', 'frequency', 'q']) {
    const value = params.get(key)?.trim()
    if (value) fields[key] = value
  }
  const parsed = donationFiltersSchema.safeParse(fields)
  if (parsed.success) return { ok: true as const, filters: parsed.data }
  return { ok: false as const, fields, error: parsed.error.issues.map((issue) => issue.message).join('. ') }
}

/**
 * The filters of a list or CSV address. A search by name or email never travels in a URL: it
 * arrives sealed in `s` (modules/staff/search-tokens, docs/decisions/022); a bare `q` is refused.
 */
export function donationFiltersFromUrl(params: URLSearchParams, staffUserId: string): ReturnType<typeof parseDonationFilters> {
  const fields = Object.fromEntries([...params].filter(([key, value]) => key !== 'q' && key !== 's' && key !== 'before' && value !== ''))
  if (params.has('q')) {
    return { ok: false as const, fields, error: 'Searches by name or email are sent with the form, never in the address. Search again with the form.' }
  }
  const token = params.get('s')
  const unsealed = new URLSearchParams(fields)
  if (token) {
    const opened = openSearch(staffUserId, SEARCH_PURPOSE.donations, token)
    if (opened.outcome !== 'found') {
      const error = opened.outcome === 'expired' ? 'This search has expired. Search again with the form.' : 'That search link is not valid. Search again with the form.'
      return { ok: false as const, fields, error }
    }
    unsealed.set('q', opened.text)
  }
  return parseDonationFilters(unsealed)
}

/** The address of a set of filters: the name or email searched for sealed in `s`, never as itself. */
export function donationFiltersToUrl(filters: DonationFilters, staffUserId: string): URLSearchParams {
  const { q, ...rest } = filters
  const params = filtersToSearchParams(rest)
  if (q) params.set('s', sealSearch(staffUserId, SEARCH_PURPOSE.donations, q))
  return params
}

/** The query string of a set of filters (without the search text: see donationFiltersToUrl). */
export function filtersToSearchParams(filters: DonationFilters): URLSearchParams {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value)
  return params
}


function filtered(db: Database, filters: DonationFilters) {
  let query = db.selectFrom('donations as d').innerJoin('appeals as a', 'a.id', 'd.appeal_id')
  if (filters.appeal) query = query.where('d.appeal_id', '=', filters.appeal)
  if (!filters.status) query = query.where('d.status', 'in', GIFT_STATUSES)
  else if (filters.status !== ALL_STATUSES) query = query.where('d.status', '=', filters.status)
  if (filters.frequency) query = query.where('d.frequency', '=', filters.frequency)
  if (filters.from) query = query.where('d.created_at', '>=', startOfDayInZone(filters.from))
  if (filters.to) query = query.where('d.created_at', '<', startOfNextDayInZone(filters.to))
  if (filters.q) {
    const pattern = `%${escapeLike(filters.q)}%`
    query = query.where((eb) => eb.or([eb('d.donor_name', 'ilike', pattern), eb('d.donor_email', 'ilike', pattern)]))
  }
  return query
}

function listQuery(db: Database, filters: DonationFilters) {
  return filtered(db, filters).select([
    'd.id',
    'd.created_at',
    'a.title as appeal_title',
    'd.donor_name',
    'd.donor_email',
    'd.amount_minor',
    'd.fee_cover_minor',
    'd.refunded_minor',
    'd.currency',
    'd.status',
    'd.frequency',
    sql<boolean>`d.gift_aid_declaration_id is not null`.as('gift_aid'),
    // JavaScript dates stop at milliseconds; PostgreSQL keeps microseconds. A cursor rounded to
    // the millisecond would skip or repeat rows created within the same millisecond.
    sql<string>`to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'),
  ])
}

export type ListRow = Awaited<ReturnType<ReturnType<typeof listQuery>['execute']>>[number]

/** One page, newest first, strictly after the cursor; no OFFSET, so page 1,000 costs what page 1 does. */
export async function donationPage(db: Database, filters: DonationFilters, after: DonationCursor | null, limit: number): Promise<ListRow[]> {
  let query = listQuery(db, filters)
  if (after) query = query.where(sql<boolean>`(d.created_at, d.id) < (${after.at}::timestamptz, ${after.id}::uuid)`)
  return query.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(limit).execute()
}

export type DonationListItem = {
  id: string
  createdAt: string
  appealTitle: string
  donorName: string | null
  donorEmail: string | null
  amountMinor: number
  feeCoverMinor: number
  refundedMinor: number
  currency: string
  status: DonationStatus
  frequency: DonationFrequency
  giftAid: boolean
}

export async function listDonations(
  db: Database,
  filters: DonationFilters,
  before: DonationCursor | null,
  pageSize = PAGE_SIZE,
): Promise<{ donations: DonationListItem[]; olderCursor: string | null }> {
  // One row more than a page says whether an older page exists without counting the table.
  const rows = await donationPage(db, filters, before, pageSize + 1)
  const page = rows.slice(0, pageSize)
  const last = page[page.length - 1]
  return {
    donations: page.map((row) => ({
      id: row.id,
      createdAt: row.created_at.toISOString(),
      appealTitle: row.appeal_title,
      donorName: row.donor_name,
      donorEmail: row.donor_email,
      amountMinor: row.amount_minor,
      feeCoverMinor: row.fee_cover_minor,
      refundedMinor: row.refunded_minor,
      currency: row.currency,
      status: row.status,
      frequency: row.frequency,
      giftAid: row.gift_aid,
    })),
    olderCursor: rows.length > pageSize && last ? encodeCursor({ at: last.cursor_at, id: last.id }) : null,
  }
}

export async function listAppealsForFilter(db: Database) {
  return db.selectFrom('appeals').select(['id', 'title', 'currency']).orderBy('title').orderBy('id').execute()
}




export async function getDonationDetail(db: Database, donationId: string) {
  if (!isUuid(donationId)) return null
  const donation = await db
    .selectFrom('donations as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .selectAll('d')
    .select(['a.title as appeal_title', 'a.slug as appeal_slug'])
    .where('d.id', '=', donationId)
    .executeTakeFirst()
  if (!donation) return null
  const [giftAid, plan, events, ledger] = await Promise.all([
    donation.gift_aid_declaration_id
      ? db
          .selectFrom('gift_aid_declarations')
          .select(['full_name', 'house_name_or_number', 'address', 'postcode', 'declared_at', 'cancelled_at'])
          .where('id', '=', donation.gift_aid_declaration_id)
          .executeTakeFirst()
      : undefined,
    donation.recurring_plan_id
      ? db
          .selectFrom('recurring_plans')
          .select(['id', 'status', 'amount_minor', 'started_at', 'cancelled_at'])
          .where('id', '=', donation.recurring_plan_id)
          .executeTakeFirst()
      : undefined,
    db
      .selectFrom('donation_events')
      .select(['id', 'type', 'detail', 'stripe_event_id', 'created_at'])
      .where('donation_id', '=', donationId)
      .orderBy('created_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('ledger_entries')
      .select(['id', 'kind', 'amount_minor', 'currency', 'stripe_object_id', 'stripe_event_id', 'occurred_at'])
      .where('donation_id', '=', donationId)
      .orderBy('occurred_at')
      .orderBy('id')
      .execute(),
  ])
  const askedMinor = donation.amount_minor + donation.fee_cover_minor
  // What Stripe charged is what the ledger holds; it may differ from what the form asked for
  // (an amount changed in Stripe, a currency rounding), and staff must see that it did.
  const chargeEntries = ledger.filter((entry) => entry.kind === 'charge')
  const stripeChargedMinor = chargeEntries.reduce((total, entry) => total + entry.amount_minor, 0)
  const chargedMinor = chargeEntries.length > 0 ? stripeChargedMinor : askedMinor
  return {
    donation: {
      id: donation.id,
      status: donation.status,
      frequency: donation.frequency,
      currency: donation.currency,
      appealTitle: donation.appeal_title,
      appealSlug: donation.appeal_slug,
      donorName: donation.donor_name,
      donorEmail: donation.donor_email,
      message: donation.message,
      amountMinor: donation.amount_minor,
      feeCoverMinor: donation.fee_cover_minor,
      chargedMinor,
      askedMinor,
      chargeDiffers: chargeEntries.length > 0 && stripeChargedMinor !== askedMinor,
      secondPaymentOf: donation.second_payment_of,
      secondPaymentKeptAt: donation.second_payment_kept_at?.toISOString() ?? null,
      refundedMinor: donation.refunded_minor,
      disputedMinor: donation.disputed_minor,
      netMinor: donation.status === 'confirmed' ? chargedMinor - donation.refunded_minor - donation.disputed_minor : 0,
      refundableMinor: refundableMinor(donation),
      privacy: {
        showName: donation.show_name,
        showAmount: donation.show_amount,
        showMessage: donation.show_message,
        updatesOptIn: donation.updates_opt_in,
      },
      stripe: {
        checkoutSession: donation.stripe_checkout_session_id,
        paymentIntent: donation.stripe_payment_intent_id,
        charge: donation.stripe_charge_id,
        invoice: donation.stripe_invoice_id,
        subscription: donation.stripe_subscription_id,
        customer: donation.stripe_customer_id,
      },
      createdAt: donation.created_at.toISOString(),
      confirmedAt: donation.confirmed_at?.toISOString() ?? null,
    },
    giftAid: giftAid
      ? {
          fullName: giftAid.full_name,
          houseNameOrNumber: giftAid.house_name_or_number,
          address: giftAid.address,
          postcode: giftAid.postcode,
          declaredAt: giftAid.declared_at.toISOString(),
          cancelledAt: giftAid.cancelled_at?.toISOString() ?? null,
        }
      : null,
    plan: plan
      ? {
          status: plan.status,
          amountMinor: plan.amount_minor,
          startedAt: plan.started_at?.toISOString() ?? null,
          cancelledAt: plan.cancelled_at?.toISOString() ?? null,
        }
      : null,
    events: events.map((event) => ({
      id: event.id,
      type: event.type,
      ...describeDonationEvent(event.type, event.detail, donation.currency),
      stripeEventId: event.stripe_event_id,
      createdAt: event.created_at.toISOString(),
    })),
    ledger: ledger.map((entry) => ({
      id: entry.id,
      kind: entry.kind,
      amountMinor: entry.amount_minor,
      currency: entry.currency,
      stripeObjectId: entry.stripe_object_id,
      stripeEventId: entry.stripe_event_id,
      occurredAt: entry.occurred_at.toISOString(),
    })),
    // Offline (the demo) a refund is made and reported at once by the offline checkout, as Stripe would.
    offlineCheckout: isOfflineCheckout(),
  }
}

const EVENT_NAMES: Record<string, string> = {
  created: 'Checkout started',
  processing: 'Payment on its way (bank payment)',
  confirmed: 'Payment confirmed',
  failed: 'Payment failed',
  abandoned: 'Checkout abandoned',
  payment_declined: 'Card declined (the donor could try again)',
  refund_requested: 'Refund asked for',
  refunded: 'Refunded',
  second_payment: 'Paid a second time',
  dispute_inquiry: 'Card issuer asked about the payment',
  dispute_open: 'Disputed: money held back',
  dispute_won: 'Dispute won: money returned',
  dispute_lost: 'Dispute lost',
  dispute_prevented: 'Dispute settled by a refund',
}

/**
 * One entry of a donation's history in words staff read: what happened, and its amounts as
 * money rather than the stored JSON (`{"chargedMinor":5097}` becomes "£50.97 charged").
 */
export function describeDonationEvent(type: string, detail: unknown, currency: string): { what: string; details: string } {
  const fields = detail && typeof detail === 'object' ? (detail as Record<string, unknown>) : {}
  const money = (key: string) => (typeof fields[key] === 'number' ? formatMoney(fields[key] as number, currency) : null)
  const parts: string[] = []
  if (money('chargedMinor')) parts.push(`${money('chargedMinor')} charged`)
  if (money('amountMinor')) parts.push(money('amountMinor')!)
  if (money('totalRefundedMinor')) parts.push(`${money('totalRefundedMinor')} refunded in all`)
  if (fields.instalment === true) parts.push('a monthly instalment')
  if (typeof fields.refundId === 'string') parts.push(`Stripe refund ${fields.refundId}`)
  if (typeof fields.firstDonationId === 'string') parts.push('the gift was already paid')
  const what = EVENT_NAMES[type] ?? (type.charAt(0).toUpperCase() + type.slice(1)).replaceAll('_', ' ')
  return { what, details: parts.join(', ') }
}

export type DonationDetail = NonNullable<Awaited<ReturnType<typeof getDonationDetail>>>

/**
 * Gifts paid twice: second payments Stripe took for a gift already paid, not yet refunded in full
 * nor kept (keepSecondPayment), newest first. Staff refund each in one click on its page, or keep it.
 */
export async function listSecondPayments(db: Database, limit = 100) {
  return db
    .selectFrom('donations as d')
    .innerJoin('appeals as a', 'a.id', 'd.appeal_id')
    .select(['d.id', 'd.second_payment_of', 'd.amount_minor', 'd.fee_cover_minor', 'd.refunded_minor', 'd.currency', 'd.confirmed_at', 'a.title as appeal_title'])
    .where('d.second_payment_of', 'is not', null)
    .where('d.second_payment_kept_at', 'is', null)
    .where('d.status', '=', 'confirmed')
    .where(sql<boolean>`d.refunded_minor < d.amount_minor + d.fee_cover_minor`)
    .orderBy('d.confirmed_at', 'desc')
    .limit(limit)
    .execute()
}

/** What Stripe will still give back: the whole charge (gift and covered fee) less refunds so far. */
function refundableMinor(donation: { status: DonationStatus; amount_minor: number; fee_cover_minor: number; refunded_minor: number }) {
  if (donation.status !== 'confirmed') return 0
  return Math.max(0, donation.amount_minor + donation.fee_cover_minor - donation.refunded_minor)
}

export type StaffActionResult = { ok: true; message: string } | { ok: false; status: number; message: string }

/**
 * A refund asked for. Offline (no Stripe key, the demo) nobody else will report it: the caller
 * hands `offlineRefund` to the offline checkout, which sends the signed `charge.refunded` Stripe
 * would, through the same inbox.
 */
export type RefundResult = StaffActionResult & { offlineRefund?: { refundId: string; amountMinor: number } }

export const refundFormSchema = z.discriminatedUnion('kind', [
  z.object({ intent: z.literal('refund'), kind: z.literal('full') }),
  z.object({
    intent: z.literal('refund'),
    kind: z.literal('partial'),
    amount: z.string({ required_error: 'Enter the amount to refund' }).trim().min(1, 'Enter the amount to refund').max(30, 'That amount is too long'),
  }),
])

export type RefundRequest = z.infer<typeof refundFormSchema>

/**
 * Asks Stripe for a refund. Nothing here changes the totals: they move when Stripe's signed
 * `charge.refunded` arrives (docs/decisions/005), so a refund Stripe later fails never shows as
 * money given back. The idempotency key names the amount and the refunds so far, so a double
 * submit (or a retry after a timeout) makes one refund, while a later, deliberate one is new.
 */
export async function requestRefund(db: Database, staffUserId: string, donationId: string, request: RefundRequest): Promise<RefundResult> {
  const donation = await db
    .selectFrom('donations')
    .select(['id', 'status', 'amount_minor', 'fee_cover_minor', 'refunded_minor', 'disputed_minor', 'currency', 'stripe_payment_intent_id'])
    .where('id', '=', donationId)
    .executeTakeFirst()
  if (!donation) return { ok: false, status: 404, message: 'There is no such donation.' }
  if (donation.status !== 'confirmed') return { ok: false, status: 400, message: 'Only a confirmed donation can be refunded.' }
  if (!donation.stripe_payment_intent_id) {
    return { ok: false, status: 400, message: 'This donation has no Stripe payment to refund; refund it in the Stripe dashboard.' }
  }
  if (donation.disputed_minor > 0) return { ok: false, status: 400, message: 'This payment is disputed; Stripe does not refund a disputed payment.' }
  const left = refundableMinor(donation)
  if (left <= 0) return { ok: false, status: 400, message: 'This donation has been refunded in full already.' }

  let amountMinor = left
  if (request.kind === 'partial') {
    const parsed = parseAmountToMinor(request.amount, donation.currency)
    if (parsed === null || parsed <= 0) return { ok: false, status: 400, message: `Enter an amount in ${donation.currency}, like 10.00.` }
    if (parsed > left) return { ok: false, status: 400, message: `You can refund at most ${minorToDecimal(left, donation.currency)} ${donation.currency}.` }
    // Stripe refunds three-decimal currencies in steps of 0.010 too; say so before asking it.
    if (!isStripeAmount(parsed, donation.currency)) return { ok: false, status: 400, message: `${stripeStepMessage(donation.currency)}.` }
    amountMinor = parsed
  }

  const idempotencyKey = `refund:${donation.id}:${amountMinor}:${donation.refunded_minor}`
  const offline = isOfflineCheckout()
  let refundId: string
  try {
    // Offline no money moved and there is no Stripe to ask: the refund's id comes from its
    // idempotency key, so a double submit names one refund, as Stripe's would.
    const refund = offline
      ? { id: `re_offline_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}` }
      : await refundPayment({ paymentIntentId: donation.stripe_payment_intent_id, amountMinor, idempotencyKey })
    if (!refund) return { ok: false, status: 400, message: 'Refunds need Stripe: without a Stripe key no money moved, so there is nothing to give back.' }
    refundId = refund.id
  } catch (error) {
    getLogger().error({ err: error, donationId }, 'Stripe refused a refund')
    return { ok: false, status: 502, message: `Stripe did not make the refund: ${(error as Error).message}` }
  }
  const details = { amountMinor, currency: donation.currency, refundId, idempotencyKey }
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('donation_events')
      .values({ donation_id: donation.id, type: 'refund_requested', detail: JSON.stringify({ ...details, staffUserId }) })
      .execute()
    await recordAudit(trx, { staffUserId, action: 'donation.refund', subjectType: 'donation', subjectId: donation.id, details })
  })
  if (offline) {
    return {
      ok: true,
      message: `Refund of ${minorToDecimal(amountMinor, donation.currency)} ${donation.currency} made in the demo: no money moved, and the offline checkout reported it as Stripe would.`,
      offlineRefund: { refundId, amountMinor },
    }
  }
  return {
    ok: true,
    message: `Refund of ${minorToDecimal(amountMinor, donation.currency)} ${donation.currency} requested. The amounts change when Stripe confirms it, usually within a minute.`,
  }
}

/**
 * Staff: the donor meant to pay twice (they said so, or it is plainly a second gift). The payment
 * stays a gift of its own, with its receipt, and no longer waits on the attention list for a
 * refund. It can still be refunded from its page like any gift.
 */
export async function keepSecondPayment(db: Database, staffUserId: string, donationId: string): Promise<StaffActionResult> {
  return db.transaction().execute(async (trx): Promise<StaffActionResult> => {
    const kept = await trx
      .updateTable('donations')
      .set({ second_payment_kept_at: new Date(), updated_at: new Date() })
      .where('id', '=', donationId)
      .where('second_payment_of', 'is not', null)
      .where('second_payment_kept_at', 'is', null)
      .returning('id')
      .executeTakeFirst()
    if (!kept) {
      const donation = await trx.selectFrom('donations').select(['second_payment_of', 'second_payment_kept_at']).where('id', '=', donationId).executeTakeFirst()
      if (!donation) return { ok: false, status: 404, message: 'There is no such donation.' }
      if (donation.second_payment_of === null) return { ok: false, status: 400, message: 'This gift was paid once: there is nothing to keep.' }
      return { ok: true, message: 'This second payment was already kept as a gift of its own.' }
    }
    await recordAudit(trx, { staffUserId, action: 'donation.keep_second_payment', subjectType: 'donation', subjectId: donationId })
    return { ok: true, message: 'Kept: this second payment stays a gift of its own and is no longer listed for a refund.' }
  })
}

export async function resendDonationReceipt(db: Database, staffUserId: string, donationId: string, at = new Date()): Promise<StaffActionResult> {
  return db.transaction().execute(async (trx): Promise<StaffActionResult> => {
    const donation = await trx.selectFrom('donations').select(['id', 'status', 'donor_email']).where('id', '=', donationId).executeTakeFirst()
    if (!donation) return { ok: false, status: 404, message: 'There is no such donation.' }
    if (donation.status !== 'confirmed') return { ok: false, status: 400, message: 'A receipt is sent only for a confirmed donation.' }
    if (!(await resendReceipt(trx, donation.id, at))) return { ok: false, status: 400, message: 'This donation has no email address to send a receipt to.' }
    await recordAudit(trx, { staffUserId, action: 'donation.resend_receipt', subjectType: 'donation', subjectId: donation.id, details: { at: at.toISOString() } })
    return { ok: true, message: 'The receipt is queued and will be sent again in a moment.' }
  })
}
