import { getEnv } from '#app/utils/env.server.ts'
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { StaffEventForm } from '#app/components/staff-event-form.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { getEventForEditing, updateEvent } from '#app/modules/events/event-admin.server.ts'
import { readEventSubmission } from '#app/modules/events/event-form.server.ts'
import { timeZoneChoices } from '#app/utils/time-zone.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Edit: ${data.event.title}` : 'Edit event' },
  { name: 'robots', content: 'noindex' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })


const notFound = () => new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  if (!isUuid(params.id)) throw notFound()
  const event = await getEventForEditing(getDb(), params.id)
  if (!event) throw notFound()
  return {
    event: { id: event.id, title: event.defaultValue.title, status: event.status, placesTaken: event.placesTaken },
    defaultValue: event.defaultValue,
    cover: event.cover,
    lockedTicketIds: event.defaultValue.tickets.filter((ticket) => ticket.locked && ticket.id).map((ticket) => ticket.id!),
    timeZones: timeZoneChoices(),
    unpaidHoldsDefault: getEnv().UNPAID_HOLDS_PER_CLIENT,
    registrationRateDefault: getEnv().REGISTRATION_RATE_LIMIT,
  }
}

export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  if (!isUuid(params.id)) throw notFound()
  const { submission, photo, answer } = await readEventSubmission(request)
  if (answer || submission.status !== 'success') return data(answer?.reply ?? submission.reply(), { status: answer?.status ?? 400 })
  const result = await updateEvent(getDb(), staff.id, params.id, submission.value, { photo: photo })
  if (!result.ok) {
    if (result.notFound) throw notFound()
    return data(submission.reply({ fieldErrors: result.fieldErrors, formErrors: result.formErrors }), { status: 400 })
  }
  return redirect(`/staff/events/${result.eventId}`, { status: 303, headers: { 'Cache-Control': 'no-store' } })
}

export default function EditStaffEvent() {
  const { event, defaultValue, cover, lockedTicketIds, timeZones, unpaidHoldsDefault, registrationRateDefault } = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  return (
    <div className="container page">
      <p>
        <Link to={`/staff/events/${event.id}`}>Back to {event.title}</Link>
      </p>
      <h1>Edit event</h1>
      {event.status === 'cancelled' ? (
        <p role="status">This event has been cancelled and can no longer be edited.</p>
      ) : (
        <StaffEventForm
          defaultValue={defaultValue}
          lastResult={lastResult}
          timeZones={timeZones}
          submitLabel="Save changes"
          lockedTicketIds={lockedTicketIds}
          placesTaken={event.placesTaken}
          unpaidHoldsDefault={unpaidHoldsDefault}
          registrationRateDefault={registrationRateDefault}
          cover={cover}
        />
      )}
    </div>
  )
}
