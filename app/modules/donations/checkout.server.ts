import type { Database } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { getLogger } from '#app/utils/logger.server.ts'
import { checkoutRateLimit, consumeRateLimit, rateLimitKey } from '#app/utils/rate-limit.server.ts'
import { sql } from 'kysely'
import { coverFeeMinor } from './amounts.ts'
import { checkoutCancelUrl, type CheckoutOutcome, type DonationRequest } from './checkout-request.ts'
import { giftAidDeclaration } from './gift-aid.ts'
import { createCheckoutSession } from '#app/modules/payments/stripe.server.ts'
import { upsertSupporter } from '#app/modules/supporters/supporters.server.ts'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'
import { uuidFromValues } from '#app/utils/ids.server.ts'

/**
 * Starts a donation: checks the appeal is open and the client is within its limit, writes the
 * pending donation (with its supporter, plan and Gift Aid declaration) in one transaction, then
 * asks Stripe for a Checkout Session with our own idempotency key. A double submit carries the
 * same submission id, so it finds the same donation, the same key, and Stripe's same session.
 */
export async function startCheckout(
  db: Database,
  request: DonationRequest,
  context: { origin: string; clientIp: string },
): Promise<CheckoutOutcome> {
  const appeal = await db
    .selectFrom('appeals')
    .select(['id', 'slug', 'title', 'currency', 'status', 'closes_at'])
    .where('id', '=', request.appealId)
    .executeTakeFirst()
  if (!appeal || appeal.status !== 'published' || (appeal.closes_at && appeal.closes_at <= new Date())) {
    return { kind: 'closed' }
  }

  const clientKey = rateLimitKey(context.clientIp)
  const failures = await recentCheckoutFailures(db, clientKey)
  if (failures.retryAfterSeconds !== null) return { kind: 'rate-limited', retryAfterSeconds: failures.retryAfterSeconds }
  // A generous ceiling on checkouts started at all, whatever became of them.
  const limit = await consumeRateLimit(checkoutRateLimit(), context.clientIp)
  if (!limit.allowed) return { kind: 'rate-limited', retryAfterSeconds: limit.retryAfterSeconds }

  const submission = await effectiveSubmission(db, request, appeal)
  const donation = await findOrCreatePendingDonation(db, submission, appeal)
  await keepShownAsChosen(db, donation.id, submission)
  await db
    .updateTable('donations')
    .set({ checkout_client_key: clientKey })
    .where('id', '=', donation.id)
    .where('checkout_client_key', 'is', null)
    .execute()
  const chargeMinor = donation.amount_minor + donation.fee_cover_minor
  try {
    const session = await createCheckoutSession({
      donationId: donation.id,
      appealId: appeal.id,
      recurringPlanId: donation.recurring_plan_id,
      mode: donation.frequency === 'monthly' ? 'subscription' : 'payment',
      amountMinor: chargeMinor,
      currency: appeal.currency,
      productName: donation.frequency === 'monthly' ? `Monthly gift: ${appeal.title}` : `Gift: ${appeal.title}`,
      customerEmail: request.email,
      successUrl: `${context.origin}/donate/thank-you?session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: checkoutCancelUrl(context.origin, appeal.slug),
    })
    await db
      .updateTable('donations')
      .set({ stripe_checkout_session_id: session.id, updated_at: new Date() })
      .where('id', '=', donation.id)
      .where('stripe_checkout_session_id', 'is', null)
      .execute()
    return { kind: 'redirect', url: session.url, submissionId: submission.submissionId }
  } catch (error) {
    // The pending donation stays; submitting again reuses it and the same idempotency key.
    getLogger().error({ err: error, donationId: donation.id }, 'Could not create a Checkout Session')
    return {
      kind: 'unavailable',
      message: 'We could not reach our payment provider. Nothing has been charged. Please try again in a moment.',
    }
  }
}

const FAILURE_WINDOW_SECONDS = 10 * 60

/**
 * The card-testing defence counts only what is known to have gone wrong: checkouts from this
 * address (its hash) that expired unpaid or failed, and cards declined in them, in the last ten
 * minutes (Stripe's events, through the inbox). Open checkouts and completed gifts never count,
 * so a room of donors on one network is not blocked at the moment the appeal is made. Returns
 * when to try again once `CHECKOUT_FAILURE_LIMIT` is reached, else null.
 */
export async function recentCheckoutFailures(db: Database, clientKey: string): Promise<{ count: number; retryAfterSeconds: number | null }> {
  const { rows } = await sql<{ n: number; oldest: Date | null }>`
    select count(*)::int as n, min(e.created_at) as oldest
    from donations d join donation_events e on e.donation_id = d.id
    where d.checkout_client_key = ${clientKey}
      and e.type in ('failed', 'abandoned', 'payment_declined')
      and e.created_at > now() - make_interval(secs => ${FAILURE_WINDOW_SECONDS})`.execute(db)
  const { n, oldest } = rows[0]!
  if (n < getEnv().CHECKOUT_FAILURE_LIMIT || !oldest) return { count: n, retryAfterSeconds: null }
  const retryAfterSeconds = Math.max(1, Math.ceil(FAILURE_WINDOW_SECONDS - (Date.now() - new Date(oldest).getTime()) / 1000))
  return { count: n, retryAfterSeconds }
}

/**
 * The submission a request really is. A double click, or a retry after an error, carries the same
 * id and the same gift, and finds the same pending donation. But the same id can also come back
 * with a different gift: with JavaScript off, Back from the payment page shows the browser's
 * stored copy of the form, id and all, and the donor changes the amount (or the frequency, the
 * covered fee, the email, Gift Aid) before giving. That is a new gift, and it must be charged as
 * typed: it gets an id of its own, made from the first id and what is given, so a double click
 * of the changed form is still one donation.
 */
async function effectiveSubmission(db: Database, request: DonationRequest, appeal: { currency: string }): Promise<DonationRequest> {
  const first = await db
    .selectFrom('donations')
    .select(['amount_minor', 'fee_cover_minor', 'frequency', 'donor_email', 'gift_aid_declaration_id'])
    .where('checkout_submission_id', '=', request.submissionId)
    .executeTakeFirst()
  const feeCoverMinor = feeCoverFor(request, appeal.currency)
  const sameGift =
    !first ||
    (first.amount_minor === request.amountMinor &&
      first.fee_cover_minor === feeCoverMinor &&
      first.frequency === request.frequency &&
      first.donor_email?.toLowerCase() === request.email.toLowerCase() &&
      (first.gift_aid_declaration_id !== null) === (request.giftAid !== null))
  if (sameGift) return request
  const changed = [request.amountMinor, feeCoverMinor, request.frequency, request.email.toLowerCase(), request.giftAid ? 'gift-aid' : 'no-gift-aid']
  return { ...request, submissionId: uuidFromValues(request.submissionId, ...changed.map(String)) }
}

/**
 * The same submission back with the same gift but other choices of how the donor is shown (Back
 * from the payment page without JavaScript, then "don't show my name"): the pending donation takes
 * them, so the gift is shown as the donor last chose before paying. Once Stripe has confirmed it
 * (or anything else has become of it) a resubmitted form changes nothing.
 */
async function keepShownAsChosen(db: Database, donationId: string, request: DonationRequest) {
  const chosen = {
    donor_name: request.name,
    message: request.message,
    show_name: request.showName,
    show_amount: request.showAmount,
    show_message: request.showMessage,
    updates_opt_in: request.updatesOptIn,
  }
  await db
    .updateTable('donations')
    .set({ ...chosen, updated_at: new Date() })
    .where('id', '=', donationId)
    .where('status', '=', 'pending')
    // Most submissions are the first or a double click: nothing to write then.
    .where(({ eb, or }) => or(Object.entries(chosen).map(([column, value]) => eb(column as keyof typeof chosen, 'is distinct from', value))))
    .execute()
}

/** What the donor adds to cover the processing fee, when they chose to. */
function feeCoverFor(request: DonationRequest, currency: string) {
  if (!request.coverFee) return 0
  const env = getEnv()
  return coverFeeMinor(request.amountMinor, currency, { percent: env.PROCESSING_FEE_PERCENT, fixedMinor: env.PROCESSING_FEE_FIXED_MINOR })
}

async function findOrCreatePendingDonation(
  db: Database,
  request: DonationRequest,
  appeal: { id: string; currency: string },
) {
  try {
    return await createPendingDonation(db, request, appeal)
  } catch (error) {
    // Two copies of one submission raced; the other one's donation is the one to use.
    if (!isUniqueViolation(error)) throw error
    return db
      .selectFrom('donations')
      .select(['id', 'amount_minor', 'fee_cover_minor', 'frequency', 'recurring_plan_id'])
      .where('checkout_submission_id', '=', request.submissionId)
      .executeTakeFirstOrThrow()
  }
}

async function createPendingDonation(
  db: Database,
  request: DonationRequest,
  appeal: { id: string; currency: string },
) {
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('donations')
      .select(['id', 'amount_minor', 'fee_cover_minor', 'frequency', 'recurring_plan_id'])
      .where('checkout_submission_id', '=', request.submissionId)
      .executeTakeFirst()
    if (existing) return existing

    const supporterId = await upsertSupporter(trx, { email: request.email, name: request.name, replaceName: true })

    let giftAidDeclarationId: string | null = null
    if (request.giftAid) {
      const organisation = await trx.selectFrom('organisation').select('name').where('id', '=', 1).executeTakeFirst()
      const declaration = await trx
        .insertInto('gift_aid_declarations')
        .values({
          supporter_id: supporterId,
          full_name: request.giftAid.fullName,
          house_name_or_number: request.giftAid.houseNameOrNumber,
          address: request.giftAid.address,
          postcode: request.giftAid.postcode,
          // The words the supporter agreed to, as the form showed them.
          declaration_text: giftAidDeclaration(
            organisation?.name ?? 'the charity',
            `${formatMoney(request.amountMinor, appeal.currency)}${request.frequency === 'monthly' ? ' each month' : ''}`,
          ),
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      giftAidDeclarationId = declaration.id
    }

    const feeCover = feeCoverFor(request, appeal.currency)

    let recurringPlanId: string | null = null
    if (request.frequency === 'monthly') {
      const plan = await trx
        .insertInto('recurring_plans')
        .values({ appeal_id: appeal.id, supporter_id: supporterId, amount_minor: request.amountMinor + feeCover, currency: appeal.currency })
        .returning('id')
        .executeTakeFirstOrThrow()
      recurringPlanId = plan.id
    }

    const donation = await trx
      .insertInto('donations')
      .values({
        appeal_id: appeal.id,
        supporter_id: supporterId,
        recurring_plan_id: recurringPlanId,
        frequency: request.frequency,
        amount_minor: request.amountMinor,
        fee_cover_minor: feeCover,
        currency: appeal.currency,
        donor_name: request.name,
        donor_email: request.email,
        message: request.message,
        show_name: request.showName,
        show_amount: request.showAmount,
        show_message: request.showMessage,
        updates_opt_in: request.updatesOptIn,
        gift_aid_declaration_id: giftAidDeclarationId,
        checkout_submission_id: request.submissionId,
      })
      .returning(['id', 'amount_minor', 'fee_cover_minor', 'frequency', 'recurring_plan_id'])
      .executeTakeFirstOrThrow()
    await trx.insertInto('donation_events').values({ donation_id: donation.id, type: 'created' }).execute()
    return donation
  })
}

/** The retention job's part: an address's hash is needed for ten minutes; it is kept a day. */
export async function forgetCheckoutClientKeys(db: Database, now = new Date()) {
  const cleared = await db
    .updateTable('donations')
    .set({ checkout_client_key: null })
    .where('checkout_client_key', 'is not', null)
    .where('created_at', '<', new Date(now.getTime() - 24 * 60 * 60 * 1000))
    .executeTakeFirst()
  return Number(cleared.numUpdatedRows)
}
