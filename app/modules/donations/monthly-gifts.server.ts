import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { recordDonationEvent } from './ledger.server.ts'

/**
 * Monthly gifts (recurring_plans): what a supporter sees of one, and every change of its state.
 * The payments module decides from Stripe's events when these apply; the rules of the plan's
 * life (pending → active ⇄ past_due → cancelled, never back from cancelled) live here. Stopping
 * a gift asks Stripe (or the offline checkout), so it lives in payments/monthly-gift-stop.
 */

export async function getMonthlyPlan(db: Database, planId: string) {
  if (!isUuid(planId)) return undefined
  return db
    .selectFrom('recurring_plans as p')
    .innerJoin('appeals as a', 'a.id', 'p.appeal_id')
    .select(['p.id', 'p.status', 'p.amount_minor', 'p.currency', 'p.stripe_subscription_id', 'a.title', 'a.slug'])
    .where('p.id', '=', planId)
    .executeTakeFirst()
}

/** The plan named in a Stripe object's metadata, or else the one with that subscription. */
export async function findPlan(trx: DatabaseTransaction, by: { planId: string | undefined; subscriptionId: string | null }) {
  let query = trx.selectFrom('recurring_plans').selectAll()
  if (isUuid(by.planId)) query = query.where('id', '=', by.planId)
  else if (by.subscriptionId) query = query.where('stripe_subscription_id', '=', by.subscriptionId)
  else return undefined
  return query.executeTakeFirst()
}

/** A checkout for a monthly gift that expired unpaid: the plan never started. */
export async function abandonPendingPlan(trx: DatabaseTransaction, planId: string | undefined) {
  if (!isUuid(planId)) return
  await trx
    .updateTable('recurring_plans')
    .set({ status: 'abandoned', updated_at: new Date() })
    .where('id', '=', planId)
    .where('status', '=', 'pending')
    .execute()
}

/**
 * The plan is paid for: it keeps the first subscription and customer Stripe named, and becomes
 * active. Returns the plan's id (from the metadata, or else from the donation), or null.
 */
export async function activatePlan(
  trx: DatabaseTransaction,
  paid: { planId: string | undefined; donationId?: string; subscriptionId: string | null; customerId: string | null; occurredAt: Date },
) {
  let planId = isUuid(paid.planId) ? paid.planId : null
  if (!planId && paid.donationId) {
    planId = (await trx.selectFrom('donations').select('recurring_plan_id').where('id', '=', paid.donationId).executeTakeFirst())?.recurring_plan_id ?? null
  }
  if (!planId) return null
  await trx
    .updateTable('recurring_plans')
    .set((eb) => ({
      stripe_subscription_id: eb.fn.coalesce('stripe_subscription_id', eb.val(paid.subscriptionId)),
      stripe_customer_id: eb.fn.coalesce('stripe_customer_id', eb.val(paid.customerId)),
      started_at: eb.fn.coalesce('started_at', eb.val(paid.occurredAt)),
      updated_at: new Date(),
    }))
    .where('id', '=', planId)
    .execute()
  // Only forward: a plan that has ended stays ended, whatever arrives late.
  await trx
    .updateTable('recurring_plans')
    .set({ status: 'active' })
    .where('id', '=', planId)
    .where('status', 'in', ['pending', 'abandoned', 'past_due'])
    .execute()
  return planId
}

/**
 * The donation a paid invoice of the plan pays for. The first invoice pays for the donation made
 * at checkout; each later one is a new gift (an instalment) copying the first gift's choices.
 */
export async function donationForInvoice(
  trx: DatabaseTransaction,
  planId: string,
  invoice: { invoiceId: string; createdWithSubscription: boolean; subscriptionId: string | null; customerId: string | null; stripeEventId: string },
): Promise<string> {
  const first = await trx
    .selectFrom('donations')
    .selectAll()
    .where('recurring_plan_id', '=', planId)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirstOrThrow()
  if (invoice.createdWithSubscription || first.stripe_invoice_id === invoice.invoiceId) return first.id
  const existing = await trx.selectFrom('donations').select('id').where('stripe_invoice_id', '=', invoice.invoiceId).executeTakeFirst()
  if (existing) return existing.id
  const instalment = await trx
    .insertInto('donations')
    .values({
      appeal_id: first.appeal_id,
      supporter_id: first.supporter_id,
      recurring_plan_id: planId,
      frequency: 'monthly',
      amount_minor: first.amount_minor,
      fee_cover_minor: first.fee_cover_minor,
      currency: first.currency,
      donor_name: first.donor_name,
      donor_email: first.donor_email,
      message: null,
      show_name: first.show_name,
      show_amount: first.show_amount,
      show_message: false,
      updates_opt_in: first.updates_opt_in,
      gift_aid_declaration_id: first.gift_aid_declaration_id,
      stripe_invoice_id: invoice.invoiceId,
      stripe_subscription_id: invoice.subscriptionId,
      stripe_customer_id: invoice.customerId,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  await recordDonationEvent(trx, instalment.id, 'created', { instalment: true }, invoice.stripeEventId)
  return instalment.id
}

/** A monthly payment failed: Stripe retries it, and the plan shows as behind until one succeeds. */
export async function markPlanPastDue(trx: DatabaseTransaction, planId: string) {
  await trx
    .updateTable('recurring_plans')
    .set({ status: 'past_due', updated_at: new Date() })
    .where('id', '=', planId)
    .where('status', '=', 'active')
    .execute()
}

/** The subscription ended (the supporter stopped it, or Stripe gave up): the plan ends once, with one email. */
export async function endPlan(
  trx: DatabaseTransaction,
  plan: { id: string; stripe_subscription_id: string | null },
  ending: { subscriptionId: string; occurredAt: Date },
) {
  const ended = await trx
    .updateTable('recurring_plans')
    .set({ status: 'cancelled', cancelled_at: ending.occurredAt, stripe_subscription_id: plan.stripe_subscription_id ?? ending.subscriptionId, updated_at: new Date() })
    .where('id', '=', plan.id)
    .where('status', '<>', 'cancelled')
    .returning('id')
    .executeTakeFirst()
  if (!ended) return
  const details = await trx
    .selectFrom('recurring_plans as p')
    .innerJoin('appeals as a', 'a.id', 'p.appeal_id')
    .innerJoin('supporters as s', 's.id', 'p.supporter_id')
    .select(['p.amount_minor', 'p.currency', 'a.title', 'a.slug', 's.email', 's.name'])
    .where('p.id', '=', plan.id)
    .executeTakeFirstOrThrow()
  if (!details.email) return
  await enqueueEmail(trx, {
    template: 'monthly-gift-cancelled',
    to: details.email,
    props: {
      organisation: await getEmailOrganisation(trx),
      name: details.name,
      amountMinor: details.amount_minor,
      currency: details.currency,
      appealTitle: details.title,
      appealUrl: `${appUrl()}/appeals/${details.slug}`,
      stoppedAt: ending.occurredAt.toISOString(),
      timeZone: organisationTimeZone(),
    },
    idempotencyKey: `monthly-gift-cancelled/${plan.id}`,
  })
}
