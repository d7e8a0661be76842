import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { useCallback, useEffect, useRef } from 'react'
import { z } from 'zod'
import { CameraScanner } from '#app/components/camera-scanner.tsx'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { openSearch, sealSearch, SEARCH_PURPOSE } from '#app/modules/staff/search-tokens.server.ts'
import { formatEventDate, formatEventTime } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { getStaffEvent } from '#app/modules/events/staff-events.server.ts'
import { searchConfirmedRegistrations, formatClockTime, checkIn, checkInMessage } from '#app/modules/registrations/check-in.server.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Check-in: ${data.event.title}` : 'Check-in' },
  { name: 'robots', content: 'noindex' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const MAX_QUERY_LENGTH = 200

/** The search form: POSTed, so a name or email never becomes part of an address (docs/decisions/022). */
const searchSchema = z.object({ intent: z.literal('search'), q: z.string().trim().max(MAX_QUERY_LENGTH, `Search for at most ${MAX_QUERY_LENGTH} characters`) })

/** One of the two check-in forms on the page: a search result's button, or a pasted or scanned code. */
const checkInSchema = z.union([
  z.object({ registrationId: z.string().uuid() }).strict(),
  z.object({ token: z.string().trim().min(1).max(200) }).strict(),
])

async function eventFrom(id: string | undefined) {
  const event = await getStaffEvent(getDb(), id)
  if (!event) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  return event
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const event = await eventFrom(params.id)
  // The search arrives sealed in `s`; a bare `q` (an old bookmark, a crafted link) is not used.
  const token = new URL(request.url).searchParams.get('s')
  const opened = token ? openSearch(staff.id, SEARCH_PURPOSE.checkIn, token) : null
  const q = opened?.outcome === 'found' ? opened.text.slice(0, MAX_QUERY_LENGTH) : ''
  const results = q ? await searchConfirmedRegistrations(getDb(), event.id, q) : null
  return {
    searchError: opened && opened.outcome !== 'found' ? (opened.outcome === 'expired' ? 'That search has expired. Search again.' : 'That search link is not valid. Search again.') : null,
    event: { id: event.id, title: event.title, when: `${formatEventDate(event.starts_at, event.time_zone)}, ${formatEventTime(event.starts_at, event.time_zone)}` },
    q,
    results:
      results?.map((registration) => ({
        id: registration.id,
        name: registration.name,
        email: registration.email,
        quantity: registration.quantity,
        ticketName: registration.ticketName,
        checkedInAt: registration.checkedInAt ? formatClockTime(registration.checkedInAt, event.time_zone) : null,
      })) ?? null,
  }
}

export type CheckInActionData = { ok: boolean; message: string; token: string }

export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const event = await eventFrom(params.id)
  // Empty fields are absent fields: the code form sends only `token`, a result's button only `registrationId`.
  const fields = Object.fromEntries([...(await readFormData(request)).entries()].filter(([, value]) => value !== ''))
  if (fields.intent === 'search') {
    const search = searchSchema.safeParse({ q: '', ...fields })
    if (!search.success) return data<CheckInActionData>({ ok: false, message: search.error.issues[0]?.message ?? 'Search again.', token: '' }, { status: 400 })
    const query = search.data.q ? `?s=${sealSearch(staff.id, SEARCH_PURPOSE.checkIn, search.data.q)}` : ''
    return redirect(`/staff/events/${event.id}/check-in${query}`, { status: 303, headers: { 'Cache-Control': 'no-store' } })
  }
  const parsed = checkInSchema.safeParse(fields)
  if (!parsed.success) {
    return data<CheckInActionData>({ ok: false, message: 'Enter or scan a check-in code, or search for a name.', token: '' }, { status: 400 })
  }
  const result = await checkIn(getDb(), event.id, parsed.data, staff.id)
  const token = 'token' in parsed.data ? parsed.data.token : ''
  return data<CheckInActionData>({
    ok: result.kind === 'checked-in',
    message: checkInMessage(result, event.time_zone),
    // A refused code stays in the field to be corrected; after a check-in the field is ready for the next.
    token: result.kind === 'checked-in' ? '' : token,
  })
}

export default function CheckIn() {
  const { event, q, results, searchError } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const tokenInput = useRef<HTMLInputElement>(null)
  const codeForm = useRef<HTMLFormElement>(null)
  const scanning = useRef(false)
  const answer = useRef<HTMLDivElement>(null)

  // With JavaScript the page is not rebuilt after a check-in, so autoFocus alone would not bring
  // focus back; without it, autoFocus on the fresh page does the same. While the camera scans,
  // focus stays where it is: a focused field would open a phone's keyboard over the camera.
  useEffect(() => {
    const input = tokenInput.current
    if (!actionData || !input) return
    input.value = actionData.token
    // On a phone the answer and the camera's picture below it then fill the screen together.
    if (scanning.current) {
      // (Not returned: newer browsers' scrollIntoView returns a promise, which React would call as a cleanup.)
      answer.current?.scrollIntoView({ block: 'start' })
      return
    }
    input.focus()
    input.select()
  }, [actionData])

  const onCameraChange = useCallback((active: boolean) => {
    scanning.current = active
    if (active) answer.current?.scrollIntoView({ block: 'start' })
  }, [])

  // A code the camera read goes through the same form, and the same action, as a typed one.
  const submitScanned = useCallback((code: string) => {
    const input = tokenInput.current
    const form = codeForm.current
    if (!input || !form) return
    input.value = code
    form.requestSubmit()
  }, [])

  return (
    <div className="container page staff-check-in">
      <p>
        <Link to={`/staff/events/${event.id}`}>Registrations for this event</Link>
      </p>
      <h1>Check-in: {event.title}</h1>
      <p>{event.when}</p>

      <div aria-live="polite" aria-atomic="true" className="staff-check-in__status" ref={answer}>
        {actionData ? (
          <p id="check-in-message" className={`staff-check-in__message staff-check-in__message--${actionData.ok ? 'ok' : 'refused'}`}>
            {actionData.message}
          </p>
        ) : null}
      </div>

      <section aria-labelledby="code-heading">
        <h2 id="code-heading">Scan or type a check-in code</h2>
        <CameraScanner onCode={submitScanned} onActiveChange={onCameraChange} />
        <Form method="post" className="inline-form" ref={codeForm}>
          <div className="field">
            <label htmlFor="token">Check-in code</label>
            <input
              ref={tokenInput}
              id="token"
              name="token"
              type="text"
              autoComplete="off"
              autoCapitalize="off"
              spellCheck={false}
              maxLength={200}
              defaultValue={actionData?.token ?? ''}
              // A live region already on a freshly loaded page (no JavaScript) is not announced; the focused field reads it out instead.
              aria-describedby={actionData ? 'check-in-message' : undefined}
              // The door's main tool: ready for the next code on arrival and after every check-in.
              autoFocus={!q || actionData !== undefined}
            />
          </div>
          <button type="submit" className="button">
            Check in
          </button>
        </Form>
      </section>

      <section aria-labelledby="search-heading">
        <h2 id="search-heading">Find someone by name or email</h2>
        <Form method="post" className="inline-form" role="search">
          <input type="hidden" name="intent" value="search" />
          {searchError ? <p className="field-error">{searchError}</p> : null}
          <div className="field">
            <label htmlFor="q">Name or email</label>
            <input id="q" name="q" type="search" defaultValue={q} maxLength={MAX_QUERY_LENGTH} autoComplete="off" autoFocus={Boolean(q) && actionData === undefined} />
          </div>
          <button type="submit" className="button button--secondary">
            Search
          </button>
        </Form>

        {results === null ? null : results.length === 0 ? (
          <p>No confirmed registration matches “{q}”.</p>
        ) : (
          <ul className="staff-check-in__results">
            {results.map((registration) => (
              <li key={registration.id}>
                <div>
                  <strong>{registration.name}</strong> ({registration.email})
                  <br />
                  {registration.quantity === 1 ? '1 place' : `${registration.quantity} places`}, {registration.ticketName}
                </div>
                {registration.checkedInAt ? (
                  <p className="staff-check-in__done">Checked in at {registration.checkedInAt}</p>
                ) : (
                  <Form method="post">
                    <input type="hidden" name="registrationId" value={registration.id} />
                    <button type="submit" className="button" aria-label={`Check in ${registration.name}`}>
                      Check in
                    </button>
                  </Form>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}
