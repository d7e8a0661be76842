import { data, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import {
  getDonationDetail,
  keepSecondPayment,
  refundFormSchema,
  requestRefund,
  resendDonationReceipt,
  type StaffActionResult,
} from '#app/modules/donations/staff-donations.server.ts'
import { refundOfflinePayment } from '#app/modules/payments/offline-checkout.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { useOrganisationTimeZone } from '#app/components/use-organisation-time-zone.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'
import { isUuid } from '#app/utils/ids.ts'
import { DONATION_STATUS_NAMES } from '#app/modules/donations/donation-statuses.ts'
import type { LedgerEntryKind, RecurringPlanStatus } from '#db/schema.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Donation' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const notFound = () => new Response('There is no such donation', { status: 404, headers: { 'Cache-Control': 'no-store' } })

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const detail = await getDonationDetail(getDb(), params.id ?? '')
  if (!detail) throw notFound()
  return detail
}

type ActionData = { intent: 'refund' | 'resend-receipt' | 'keep-second-payment' | null; ok: boolean; message: string }

const intentSchema = z.object({ intent: z.enum(['refund', 'resend-receipt', 'keep-second-payment'], { message: 'Choose what to do' }) })

function answer(intent: ActionData['intent'], result: StaffActionResult) {
  return data<ActionData>(
    { intent, ok: result.ok, message: result.message },
    { status: result.ok ? 200 : result.status, headers: { 'Cache-Control': 'no-store' } },
  )
}

export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const donationId = params.id ?? ''
  if (!isUuid(donationId)) throw notFound()
  const form = Object.fromEntries(await readFormData(request))
  const intent = intentSchema.safeParse(form)
  if (!intent.success) return answer(null, { ok: false, status: 400, message: 'Choose what to do: refund, keep a second payment, or send the receipt again.' })
  const db = getDb()

  if (intent.data.intent === 'resend-receipt') {
    return answer('resend-receipt', await resendDonationReceipt(db, staff.id, donationId))
  }
  if (intent.data.intent === 'keep-second-payment') {
    return answer('keep-second-payment', await keepSecondPayment(db, staff.id, donationId))
  }
  const refund = refundFormSchema.safeParse(form)
  if (!refund.success) {
    return answer('refund', { ok: false, status: 400, message: refund.error.issues[0]?.message ?? 'Choose a full or a partial refund.' })
  }
  const result = await requestRefund(db, staff.id, donationId, refund.data)
  // The demo (no Stripe key): the offline checkout reports the refund as Stripe would.
  if (result.offlineRefund) await refundOfflinePayment(db, donationId, result.offlineRefund)
  return answer('refund', result)
}

/** A moment in the organisation's time zone, to the second; a dash for none. */
function useWhen() {
  const timeZone = useOrganisationTimeZone()
  return (iso: string | null) => (iso ? formatDateTime(iso, timeZone, { seconds: true }) : '—')
}
const yesNo = (value: boolean) => (value ? 'Yes' : 'No')

const LEDGER_KIND_NAMES: Record<LedgerEntryKind, string> = {
  charge: 'Payment',
  refund: 'Refund',
  dispute_hold: 'Held back by a dispute',
  dispute_release: 'Returned after a dispute',
  dispute_loss: 'Lost in a dispute',
}
const PLAN_STATUS_NAMES: Record<RecurringPlanStatus, string> = {
  pending: 'not started yet',
  active: 'active',
  past_due: 'a payment failed, Stripe is retrying',
  cancelled: 'stopped',
  abandoned: 'never started (checkout abandoned)',
}

const STRIPE_ID_NAMES = {
  checkoutSession: 'Checkout Session',
  paymentIntent: 'Payment intent',
  charge: 'Charge',
  invoice: 'Invoice',
  subscription: 'Subscription',
  customer: 'Customer',
} as const

export default function StaffDonation() {
  const when = useWhen()
  const { donation, giftAid, plan, events, ledger, offlineCheckout } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const busy = useNavigation().state === 'submitting'
  const money = (minor: number) => formatMoney(minor, donation.currency)
  return (
    <div className="container page staff-donation">
      <p>
        <Link to="/staff/donations">All donations</Link>
      </p>
      <h1>
        {money(donation.amountMinor)} from {donation.donorName ?? 'a donor with no name'}
      </h1>

      {donation.secondPaymentOf && donation.secondPaymentKeptAt ? (
        <p className="notice">
          A second payment for <Link to={`/staff/donations/${donation.secondPaymentOf}`}>their gift</Link>, kept as a gift of its own on{' '}
          {when(donation.secondPaymentKeptAt)}: the donor meant to give twice.
        </p>
      ) : donation.secondPaymentOf ? (
        <div className="notice">
          <p>
            The donor paid twice: this is a second payment for <Link to={`/staff/donations/${donation.secondPaymentOf}`}>their gift</Link>,
            taken by Stripe when a second checkout was completed. Unless they meant to give twice, refund it in full below.
          </p>
          {donation.status === 'confirmed' ? (
            <Form method="post" className="inline-form">
              <input type="hidden" name="intent" value="keep-second-payment" />
              <button type="submit" className="button button--secondary" disabled={busy}>
                Keep it: the donor meant to give twice
              </button>
            </Form>
          ) : null}
        </div>
      ) : null}
      {actionData ? (
        <p className={actionData.ok ? 'notice' : 'form-error'} role={actionData.ok ? 'status' : 'alert'}>
          {actionData.message}
        </p>
      ) : null}

      <dl className="facts">
        <dt>Status</dt>
        <dd>{DONATION_STATUS_NAMES[donation.status]}</dd>
        <dt>Appeal</dt>
        <dd>{donation.appealTitle}</dd>
        <dt>Frequency</dt>
        <dd>{donation.frequency === 'monthly' ? 'Monthly' : 'One-off'}</dd>
        <dt>Donor</dt>
        <dd>
          {donation.donorName ?? '—'} {donation.donorEmail ? `<${donation.donorEmail}>` : ''}
        </dd>
        <dt>Started</dt>
        <dd>{when(donation.createdAt)}</dd>
        <dt>Confirmed</dt>
        <dd>{when(donation.confirmedAt)}</dd>
        {donation.message ? (
          <>
            <dt>Message</dt>
            <dd>{donation.message}</dd>
          </>
        ) : null}
        {plan ? (
          <>
            <dt>Monthly gift</dt>
            <dd>
              {money(plan.amountMinor)} a month, {PLAN_STATUS_NAMES[plan.status]}
              {plan.cancelledAt ? `, stopped ${when(plan.cancelledAt)}` : ''}
            </dd>
          </>
        ) : null}
      </dl>

      <h2>Amounts</h2>
      <dl className="facts">
        <dt>Gift</dt>
        <dd>{money(donation.amountMinor)}</dd>
        <dt>Fee covered</dt>
        <dd>{money(donation.feeCoverMinor)}</dd>
        <dt>Charged by Stripe</dt>
        <dd>
          {money(donation.chargedMinor)}
          {donation.chargeDiffers ? (
            <strong className="form-error">
              {' '}
              Not what the donor chose: {money(donation.askedMinor)} (gift and fee cover), a difference of{' '}
              {money(donation.chargedMinor - donation.askedMinor)}. The receipt shows what was charged.
            </strong>
          ) : null}
        </dd>
        <dt>Refunded</dt>
        <dd>{money(donation.refundedMinor)}</dd>
        <dt>Disputed</dt>
        <dd>{money(donation.disputedMinor)}</dd>
        <dt>Net</dt>
        <dd>
          <strong>{money(donation.netMinor)}</strong>
        </dd>
      </dl>

      <h2>Privacy choices</h2>
      <dl className="facts">
        <dt>Show name publicly</dt>
        <dd>{yesNo(donation.privacy.showName)}</dd>
        <dt>Show amount publicly</dt>
        <dd>{yesNo(donation.privacy.showAmount)}</dd>
        <dt>Show message publicly</dt>
        <dd>{yesNo(donation.privacy.showMessage)}</dd>
        <dt>Wants appeal updates</dt>
        <dd>{yesNo(donation.privacy.updatesOptIn)}</dd>
      </dl>

      <h2>Gift Aid</h2>
      {giftAid ? (
        <dl className="facts">
          <dt>Name</dt>
          <dd>{giftAid.fullName}</dd>
          <dt>Address</dt>
          <dd>
            {giftAid.houseNameOrNumber}, {giftAid.address}, {giftAid.postcode}
          </dd>
          <dt>Declared</dt>
          <dd>{when(giftAid.declaredAt)}</dd>
          <dt>Cancelled</dt>
          <dd>{giftAid.cancelledAt ? when(giftAid.cancelledAt) : 'No'}</dd>
        </dl>
      ) : (
        <p>No Gift Aid declaration.</p>
      )}

      <h2>Stripe</h2>
      <dl className="facts staff-donation__ids">
        {Object.entries(STRIPE_ID_NAMES).map(([key, label]) => (
          <div key={key} className="staff-donation__id">
            <dt>{label}</dt>
            <dd>
              <code>{donation.stripe[key as keyof typeof STRIPE_ID_NAMES] ?? '—'}</code>
            </dd>
          </div>
        ))}
      </dl>

      <h2>Refund</h2>
      {offlineCheckout ? (
        <p className="notice">
          This is the demo: the site runs without a Stripe key (offline checkout), so no money moved. A refund here is reported
          at once, the way Stripe would report it, so you can see what it does to the amounts and the totals.
        </p>
      ) : null}
      {donation.status !== 'confirmed' ? (
        <p>Only a confirmed donation can be refunded.</p>
      ) : donation.refundableMinor <= 0 ? (
        <p>This donation has been refunded in full.</p>
      ) : (
        <>
          <p>
            Up to {money(donation.refundableMinor)} can be refunded. Stripe makes the refund; the amounts on this page and the
            campaign totals change when Stripe confirms it (its <code>charge.refunded</code> event), usually within a minute.
          </p>
          <Form method="post" className="inline-form">
            <input type="hidden" name="intent" value="refund" />
            <fieldset className="staff-refund">
              <legend>How much</legend>
              <label>
                <input type="radio" name="kind" value="full" defaultChecked /> All of it ({money(donation.refundableMinor)})
              </label>
              <label>
                <input type="radio" name="kind" value="partial" /> Part of it:
              </label>
              <div className="field">
                <label htmlFor="refund-amount">Amount in {donation.currency}</label>
                <input id="refund-amount" name="amount" inputMode="decimal" autoComplete="off" />
              </div>
            </fieldset>
            <button type="submit" className="button" disabled={busy}>
              Refund
            </button>
          </Form>
        </>
      )}

      <h2>Receipt</h2>
      {donation.status === 'confirmed' && donation.donorEmail ? (
        <Form method="post" className="inline-form">
          <input type="hidden" name="intent" value="resend-receipt" />
          <button type="submit" className="button button--secondary" disabled={busy}>
            Send the receipt again to {donation.donorEmail}
          </button>
        </Form>
      ) : (
        <p>A receipt is sent once the donation is confirmed, to the address the donor gave.</p>
      )}

      <TableScroll label="History">
        <table className="table">
          <caption>History, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Details</th>
              <th scope="col">Stripe event</th>
            </tr>
          </thead>
          <tbody>
            {events.length === 0 ? (
              <tr>
                <td colSpan={4}>Nothing has happened to this donation yet.</td>
              </tr>
            ) : null}
            {events.map((event) => (
              <tr key={event.id}>
                <td>{when(event.createdAt)}</td>
                <td>{event.what}</td>
                <td>{event.details || '—'}</td>
                <td>{event.stripeEventId ? <code>{event.stripeEventId}</code> : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>

      <TableScroll label="Ledger entries">
        <table className="table staff-totals">
          <caption>Ledger entries</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Kind</th>
              <th scope="col" className="numeric">Amount</th>
              <th scope="col">Stripe object</th>
            </tr>
          </thead>
          <tbody>
            {ledger.length === 0 ? (
              <tr>
                <td colSpan={4}>No money has moved yet.</td>
              </tr>
            ) : null}
            {ledger.map((entry) => (
              <tr key={entry.id}>
                <td>{when(entry.occurredAt)}</td>
                <td>{LEDGER_KIND_NAMES[entry.kind]}</td>
                <td className="numeric">{formatMoney(entry.amountMinor, entry.currency)}</td>
                <td>
                  <code>{entry.stripeObjectId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </div>
  )
}
