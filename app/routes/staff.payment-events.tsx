import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { listSecondPayments } from '#app/modules/donations/staff-donations.server.ts'
import { getStripeInboxHealth, listParkedStripeEvents, retryParkedStripeEvents } from '#app/modules/payments/stripe-inbox.server.ts'
import { recordAudit } from '#app/modules/staff/audit.server.ts'
import { hasRole, requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'
import { formatMoney } from '#app/utils/money.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

const schema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('retry'), eventId: z.string().regex(/^[A-Za-z0-9_]{1,255}$/, 'Choose an event to try again') }),
  z.object({ intent: z.literal('retry-all') }),
])

/** The least role that may open this route; tests/integration/staff-routes.test.ts reads it. */
export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }
/** Trying an event again changes money: administrators only. */
const RETRY_ROLE: StaffRole = 'admin'
/** An applier more than this far behind is not keeping up (or not running): staff are told. */
const BEHIND_AFTER_MS = 2 * 60 * 1000

export const meta: MetaFunction = () => [{ title: 'Payment events that need attention' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const db = getDb()
  const [health, parked, seconds] = await Promise.all([getStripeInboxHealth(db), listParkedStripeEvents(db), listSecondPayments(db)])
  const timeZone = organisationTimeZone()
  const behind = health.oldestPendingAt !== null && Date.now() - health.oldestPendingAt.getTime() > BEHIND_AFTER_MS
  return {
    canRetry: hasRole(staff.role, RETRY_ROLE),
    secondPayments: seconds.map((gift) => ({
      id: gift.id,
      appealTitle: gift.appeal_title,
      amount: formatMoney(gift.amount_minor + gift.fee_cover_minor - gift.refunded_minor, gift.currency),
      confirmedAt: gift.confirmed_at ? formatDateTime(gift.confirmed_at, timeZone) : '',
    })),
    health: { parked: health.parked, pending: health.pending, oldestPending: behind ? formatDateTime(health.oldestPendingAt!, timeZone) : null },
    events: parked.map((event) => ({
      id: event.event_id,
      type: event.type,
      source: event.source,
      createdAt: formatDateTime(event.stripe_created_at, timeZone),
      receivedAt: formatDateTime(event.received_at, timeZone),
      attempts: event.attempts,
      lastError: event.last_error,
      // The inbox keeps no personal fields (stripe-event-handlers.server.ts): ids, amounts, statuses.
      payload: event.payload ? JSON.stringify(JSON.parse(event.payload), null, 2) : null,
    })),
  }
}

/** Puts parked events back in the queue once what stopped them is fixed; the worker applies them. */
export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, RETRY_ROLE)
  const parsed = schema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) return data({ message: parsed.error.issues[0]?.message ?? 'Reload the page and try again' }, { status: 400 })
  const db = getDb()
  const retried = await retryParkedStripeEvents(db, parsed.data.intent === 'retry' ? [parsed.data.eventId] : null)
  if (retried.length > 0) {
    await recordAudit(db, { staffUserId: staff.id, action: 'stripe_event.retry', subjectType: 'stripe_event', subjectId: null, details: { eventIds: retried } })
  }
  const message =
    retried.length === 0
      ? 'Nothing was waiting to be tried again: it may have been applied meanwhile.'
      : `${retried.length === 1 ? 'The event is' : `${retried.length} events are`} queued to be applied again. Reload in a minute to see whether ${retried.length === 1 ? 'it' : 'they'} went through.`
  return { message }
}

export default function PaymentEvents() {
  const { events, health, canRetry, secondPayments } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <div className="container page staff-payment-events">
      <h1>Payment events that need attention</h1>
      <p className="lead">
        Stripe tells us about payments, refunds and disputes in events. Each is stored as it arrives and applied a moment
        later. An event that cannot be applied, after several tries, is set aside here: its money is not in the totals until
        it is. Once the cause is fixed (a setting in Stripe, or a fix to Sanad), an administrator can try it again; applying
        an event twice never counts its money twice.
      </p>
      <p role="status" aria-live="polite">
        {result?.message ?? null}
      </p>
      {health.oldestPending ? (
        <p className="notice">
          {health.pending} {health.pending === 1 ? 'event is' : 'events are'} still waiting to be applied, the oldest received{' '}
          {health.oldestPending}. The background worker may be stopped: check that it is running.
        </p>
      ) : null}
      {secondPayments.length > 0 ? (
        <section aria-labelledby="paid-twice-heading">
          <h2 id="paid-twice-heading">Gifts paid twice</h2>
          <p>
            A donor completed a second checkout for a gift already paid, and Stripe took the money again. Each second payment
            is a gift of its own in the totals, with its own receipt. Refund it on its page unless the donor meant to give
            twice.
          </p>
          <ul>
            {secondPayments.map((gift) => (
              <li key={gift.id}>
                <a href={`/staff/donations/${gift.id}`}>
                  {gift.amount} to {gift.appealTitle}
                </a>
                , {gift.confirmedAt}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {events.length === 0 ? (
        <p>Every payment event has been applied.</p>
      ) : (
        <>
          {canRetry && events.length > 1 ? (
            <Form method="post">
              <button type="submit" name="intent" value="retry-all" className="button">
                Try all {events.length} again
              </button>
            </Form>
          ) : null}
          <TableScroll label="Payment events set aside">
            <table className="table">
              <caption>Events set aside, oldest first</caption>
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Event</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Why it was set aside</th>
                  <th scope="col">{canRetry ? 'Action' : <span className="visually-hidden">Action</span>}</th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <tr key={event.id}>
                    <td>
                      {event.receivedAt}
                      {event.source !== 'webhook' ? <> (from {event.source})</> : null}
                    </td>
                    <td>
                      <code>{event.type}</code>
                      <br />
                      <code>{event.id}</code>
                      <br />
                      Created by Stripe {event.createdAt}
                      {event.payload ? (
                        <details>
                          <summary>The event as stored</summary>
                          <pre className="code-block">{event.payload}</pre>
                        </details>
                      ) : null}
                    </td>
                    <td>{event.attempts}</td>
                    <td>{event.lastError}</td>
                    <td>
                      {canRetry ? (
                        <Form method="post">
                          <input type="hidden" name="eventId" value={event.id} />
                          <button type="submit" name="intent" value="retry" className="button button--secondary" aria-label={`Try ${event.id} again`}>
                            Try again
                          </button>
                        </Form>
                      ) : (
                        'An administrator can try it again.'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </>
      )}
    </div>
  )
}
