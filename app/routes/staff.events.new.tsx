import { getEnv } from '#app/utils/env.server.ts'
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { StaffEventForm } from '#app/components/staff-event-form.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { readEventSubmission } from '#app/modules/events/event-form.server.ts'
import { blankTicketRows, createEvent } from '#app/modules/events/event-admin.server.ts'
import { timeZoneChoices } from '#app/utils/time-zone.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'New event' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })


export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  return {
    timeZones: timeZoneChoices(),
    unpaidHoldsDefault: getEnv().UNPAID_HOLDS_PER_CLIENT,
    registrationRateDefault: getEnv().REGISTRATION_RATE_LIMIT,
    defaultValue: {
      timeZone: organisationTimeZone(),
      mode: 'in_person',
      capacity: '50',
      maxPerOrder: '4',
      status: 'draft',
      tickets: blankTicketRows(),
    },
  }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const { submission, photo, answer } = await readEventSubmission(request)
  if (answer || submission.status !== 'success') return data(answer?.reply ?? submission.reply(), { status: answer?.status ?? 400 })
  const result = await createEvent(getDb(), staff.id, submission.value, { photo: photo })
  if (!result.ok) return data(submission.reply({ fieldErrors: result.fieldErrors, formErrors: result.formErrors }), { status: 400 })
  return redirect(`/staff/events/${result.eventId}`, { status: 303, headers: { 'Cache-Control': 'no-store' } })
}

export default function NewStaffEvent() {
  const { timeZones, defaultValue, unpaidHoldsDefault, registrationRateDefault } = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  return (
    <div className="container page">
      <p>
        <Link to="/staff/events">All events</Link>
      </p>
      <h1>New event</h1>
      <StaffEventForm defaultValue={defaultValue} lastResult={lastResult} timeZones={timeZones} submitLabel="Create the event" unpaidHoldsDefault={unpaidHoldsDefault} registrationRateDefault={registrationRateDefault} />
    </div>
  )
}
