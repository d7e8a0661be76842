import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import type { EventStatus } from '#db/schema.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { listStaffEvents, type StaffEventRow } from '#app/modules/events/staff-events.server.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Events' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const { upcoming, past } = await listStaffEvents(getDb())
  // Dates are formatted here, in the event's zone, so the page reads the same on every device.
  const present = (event: StaffEventRow) => ({
    ...event,
    when: `${formatEventDate(event.startsAt, event.timeZone)}, ${formatEventTime(event.startsAt, event.timeZone)}`,
  })
  return { upcoming: upcoming.map(present), past: past.map(present) }
}

const STATUS_NAMES: Record<EventStatus, string> = { published: 'Published', draft: 'Draft', cancelled: 'Cancelled' }

type Row = Awaited<ReturnType<typeof loader>>['upcoming'][number]

export default function StaffEvents() {
  const { upcoming, past } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <h1>Events</h1>
      <p>
        <Link to="/staff/events/new" className="button">New event</Link>
      </p>
      <EventTable caption="Upcoming and running events" events={upcoming} empty="There are no upcoming events." />
      <EventTable caption="Past events" events={past} empty="There are no past events." />
    </div>
  )
}

function EventTable(props: { caption: string; events: Row[]; empty: string }) {
  return (
    <TableScroll label={props.caption}>
      <table className="table staff-totals">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Date</th>
            <th scope="col" className="numeric">Capacity</th>
            <th scope="col" className="numeric">Places taken</th>
            <th scope="col" className="numeric">Confirmed</th>
            <th scope="col" className="numeric">Waitlist</th>
            <th scope="col" className="numeric">Saves</th>
          </tr>
        </thead>
        <tbody>
          {props.events.length === 0 ? (
            <tr>
              <td colSpan={7}>{props.empty}</td>
            </tr>
          ) : null}
          {props.events.map((event) => (
            <tr key={event.id}>
              <th scope="row">
                <Link to={`/staff/events/${event.id}`}>{event.title}</Link>
                <span className="staff-totals__status"> {STATUS_NAMES[event.status]}</span>
              </th>
              <td>{event.when}</td>
              <td className="numeric">{event.capacity}</td>
              <td className="numeric">{event.placesTaken}</td>
              <td className="numeric">
                {event.confirmedCount}
                {event.confirmedPlaces !== event.confirmedCount ? <span className="staff-events__places"> ({event.confirmedPlaces} places)</span> : null}
              </td>
              <td className="numeric">
                {event.waitlistCount}
                {event.waitlistPlaces !== event.waitlistCount ? <span className="staff-events__places"> ({event.waitlistPlaces} places)</span> : null}
              </td>
              <td className="numeric">{event.saves}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  )
}
