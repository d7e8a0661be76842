import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data } from '@remix-run/node'
import { TableScroll } from '#app/components/table-scroll.tsx'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { cancelEvent } from '#app/modules/registrations/cancel-event.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { getStaffEvent } from '#app/modules/events/staff-events.server.ts'
import { getEventRegistrations, type StaffRegistration } from '#app/modules/registrations/event-registrations.server.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Registrations: ${data.event.title}` : 'Registrations' },
  { name: 'robots', content: 'noindex' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const db = getDb()
  const event = await getStaffEvent(db, params.id)
  if (!event) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  const registrations = await getEventRegistrations(db, event.id)
  const at = (instant: Date | null) => (instant ? `${formatEventDate(instant, event.time_zone)}, ${formatEventTime(instant, event.time_zone)}` : null)
  const present = (registration: StaffRegistration) => ({
    id: registration.id,
    name: registration.name,
    email: registration.email,
    quantity: registration.quantity,
    ticketName: registration.ticketName,
    accessNeeds: registration.accessNeeds,
    status: registration.status,
    registeredAt: at(registration.createdAt),
    checkedInAt: registration.checkedInAt ? formatEventTime(registration.checkedInAt, event.time_zone) : null,
    offerExpiresAt: at(registration.offerExpiresAt),
    holdExpiresAt: at(registration.holdExpiresAt),
    cancelledAt: at(registration.cancelledAt),
  })
  return {
    event: {
      id: event.id,
      title: event.title,
      slug: event.slug,
      status: event.status,
      when: at(event.starts_at)!,
      capacity: event.capacity,
      placesTaken: event.places_taken,
    },
    confirmed: registrations.confirmed.map(present),
    waitlist: registrations.waitlist.map((registration) => ({ ...present(registration), position: registration.position })),
    offered: registrations.offered.map(present),
    held: registrations.held.map(present),
    ended: registrations.ended.map(present),
  }
}

const cancelSchema = z.object({
  intent: z.literal('cancel-event'),
  confirm: z.literal('yes', { errorMap: () => ({ message: 'Tick the box to confirm that the event is cancelled' }) }),
  message: z.string().trim().max(2000, 'Keep the message to 2,000 characters').optional(),
})

/** Cancelling the event: everyone registered is told, paid places are refunded (cancel-event.server.ts). */
export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const event = await getStaffEvent(getDb(), params.id)
  if (!event) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  const parsed = cancelSchema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) return data({ error: parsed.error.issues[0]?.message ?? 'Check the form', done: null }, { status: 400 })
  const result = await cancelEvent(getDb(), event.id, { message: parsed.data.message || null, staffUserId: staff.id })
  if (result.outcome === 'cancelled') {
    return { error: null, done: `The event is cancelled. ${result.told} registrations were told; ${result.refunded} paid places are being refunded.` }
  }
  return { error: null, done: 'The event was already cancelled.' }
}

const ENDED_NAMES: Record<string, string> = { cancelled: 'Cancelled', expired: 'Offer or hold lapsed', refunded: 'Refunded' }

const places = (quantity: number) => (quantity === 1 ? '1 place' : `${quantity} places`)

export default function StaffEventRegistrations() {
  const { event, confirmed, waitlist, offered, held, ended } = useLoaderData<typeof loader>()
  const checkedIn = confirmed.filter((registration) => registration.checkedInAt !== null)
  return (
    <div className="container page">
      <p>
        <Link to="/staff/events">All events</Link>
      </p>
      <h1>{event.title}</h1>
      <p>
        {event.when}. {event.placesTaken} of {event.capacity} places taken.
        {event.status === 'published' ? (
          <>
            {' '}
            <Link to={`/events/${event.slug}`}>Public page</Link>
          </>
        ) : (
          ` ${event.status === 'draft' ? 'Draft' : 'Cancelled'}.`
        )}
      </p>
      <ul className="staff-events__actions">
        <li>
          <Link to={`/staff/events/${event.id}/edit`} className="button button--secondary">Edit event</Link>
        </li>
        <li>
          {/* A fresh document: only the check-in page's own headers allow the camera. */}
          <Link to={`/staff/events/${event.id}/check-in`} className="button" reloadDocument>
            Check people in
          </Link>
        </li>
        <li>
          {/* A download, not a page: the browser must fetch it itself, not the client router. */}
          <a href={`/staff/events/${event.id}/registrations.csv`} className="button button--secondary" download>
            Download registrations (CSV)
          </a>
        </li>
      </ul>

      <TableScroll label="Confirmed registrations">
        <table className="table staff-totals">
          <caption>
            Confirmed: {confirmed.length} ({checkedIn.length} checked in)
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col" className="numeric">Places</th>
              <th scope="col">Ticket</th>
              <th scope="col">Access needs</th>
              <th scope="col">Checked in</th>
            </tr>
          </thead>
          <tbody>
            {confirmed.length === 0 ? (
              <tr>
                <td colSpan={6}>Nobody is confirmed yet.</td>
              </tr>
            ) : null}
            {confirmed.map((registration) => (
              <tr key={registration.id}>
                <th scope="row">{registration.name}</th>
                <td>{registration.email}</td>
                <td className="numeric">{registration.quantity}</td>
                <td>{registration.ticketName}</td>
                <td className="staff-events__notes">{registration.accessNeeds ?? ''}</td>
                <td>{registration.checkedInAt ? `Yes, at ${registration.checkedInAt}` : 'Not yet'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>

      <TableScroll label="Waitlist">
        <table className="table staff-totals">
          <caption>Waitlist: {waitlist.length}, first come first served</caption>
          <thead>
            <tr>
              <th scope="col" className="numeric">Position</th>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col" className="numeric">Places</th>
              <th scope="col">Ticket</th>
              <th scope="col">Access needs</th>
            </tr>
          </thead>
          <tbody>
            {waitlist.length === 0 ? (
              <tr>
                <td colSpan={6}>Nobody is waiting.</td>
              </tr>
            ) : null}
            {waitlist.map((registration) => (
              <tr key={registration.id}>
                <td className="numeric">{registration.position}</td>
                <th scope="row">{registration.name}</th>
                <td>{registration.email}</td>
                <td className="numeric">{registration.quantity}</td>
                <td>{registration.ticketName}</td>
                <td className="staff-events__notes">{registration.accessNeeds ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>

      <PeopleTable
        caption={`Offered a freed place: ${offered.length}`}
        empty="No place is on offer."
        lastColumn="Offer ends"
        rows={offered.map((registration) => ({ ...registration, last: registration.offerExpiresAt ?? '' }))}
      />
      {held.length > 0 ? (
        <PeopleTable
          caption={`Paying now (places held): ${held.length}`}
          empty=""
          lastColumn="Hold ends"
          rows={held.map((registration) => ({ ...registration, last: registration.holdExpiresAt ?? '' }))}
        />
      ) : null}
      <PeopleTable
        caption={`Cancelled: ${ended.length}`}
        empty="Nobody has cancelled."
        lastColumn="Status"
        rows={ended.map((registration) => ({
          ...registration,
          last: `${ENDED_NAMES[registration.status] ?? registration.status}${registration.cancelledAt ? `, ${registration.cancelledAt}` : ''}`,
        }))}
      />
      <CancelEvent status={event.status} />
    </div>
  )
}

function CancelEvent({ status }: { status: string }) {
  const result = useActionData<typeof action>()
  if (result?.done) {
    return (
      <p className="lead" role="status">
        {result.done}
      </p>
    )
  }
  if (status === 'cancelled') return <p role="status">This event has been cancelled.</p>
  return (
    <section aria-labelledby="cancel-event-title" className="section">
      <h2 id="cancel-event-title">Cancel this event</h2>
      <p>Everyone registered or waiting is emailed once, and paid places are refunded in full. This cannot be undone.</p>
      <Form method="post">
        <input type="hidden" name="intent" value="cancel-event" />
        <div className="field">
          <label htmlFor="cancel-message">A message for the people registered (optional)</label>
          <textarea id="cancel-message" name="message" rows={3} maxLength={2000} />
        </div>
        <div className="choice choice--checkbox">
          <input id="cancel-confirm" type="checkbox" name="confirm" value="yes" aria-describedby={result?.error ? 'cancel-error' : undefined} />
          <label htmlFor="cancel-confirm">Yes, this event is cancelled</label>
        </div>
        {result?.error ? (
          <p id="cancel-error" className="field-error" role="alert">
            {result.error}
          </p>
        ) : null}
        <button type="submit" className="button">
          Cancel the event and tell everyone
        </button>
      </Form>
    </section>
  )
}

function PeopleTable(props: {
  caption: string
  empty: string
  lastColumn: string
  rows: { id: string; name: string; email: string; quantity: number; ticketName: string; last: string }[]
}) {
  return (
    <TableScroll label={props.caption}>
      <table className="table staff-totals">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Places</th>
            <th scope="col">Ticket</th>
            <th scope="col">{props.lastColumn}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={5}>{props.empty}</td>
            </tr>
          ) : null}
          {props.rows.map((row) => (
            <tr key={row.id}>
              <th scope="row">{row.name}</th>
              <td>{row.email}</td>
              <td>{places(row.quantity)}</td>
              <td>{row.ticketName}</td>
              <td>{row.last}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  )
}
