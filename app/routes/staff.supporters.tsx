import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { DONATION_STATUS_NAMES } from '#app/modules/donations/donation-statuses.ts'
import { REGISTRATION_STATUS_NAMES } from '#app/modules/registrations/statuses.ts'
import { z } from 'zod'
import { hasRole, requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'
import { eraseSupporter, erasureBlockers } from '#app/modules/supporters/erasure.server.ts'
import { findSupporterRecords, lookUpSupporter, type SupporterRecords, holdsAnything, RECORD_KINDS } from '#app/modules/supporters/supporter-records.server.ts'
import { supporterEmailSchema } from '#app/modules/supporters/supporters.server.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

/**
 * `/staff/supporters`: what we hold about one supporter, found by email, to export it or (for
 * administrators) erase it. The address travels only in POST bodies, never in a URL, so it stays
 * out of access logs and browser history.
 */

const findSchema = z.object({ intent: z.enum(['find', 'review-erase']), email: supporterEmailSchema })
const eraseSchema = z.object({
  intent: z.literal('erase'),
  email: supporterEmailSchema,
  confirm: z.literal('yes', { errorMap: () => ({ message: 'Tick the box to confirm that this supporter’s personal data is to be erased' }) }),
})

/** The least role that may open this route; erasing asks for admin in the action. */
export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }
const ERASE_ROLE: StaffRole = 'admin'

export const meta: MetaFunction = () => [{ title: 'Supporters’ data' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const NO_STORE = { 'Cache-Control': 'no-store' }
const when = (value: unknown) => (value instanceof Date ? formatDateTime(value, organisationTimeZone()) : null)

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const done = new URL(request.url).searchParams.get('done')
  return { canErase: hasRole(staff.role, ERASE_ROLE), erased: done === 'erased' }
}

type FieldErrors = Partial<Record<'email' | 'confirm' | 'form', string>>

function firstErrors(issues: z.ZodIssue[]): FieldErrors {
  const errors: FieldErrors = {}
  for (const issue of issues) {
    const key = String(issue.path[0] ?? 'form')
    const field = key === 'email' || key === 'confirm' ? key : 'form'
    errors[field] ??= issue.message
  }
  return errors
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const form = Object.fromEntries(await readFormData(request))
  const intent = form.intent
  if ((intent === 'review-erase' || intent === 'erase') && !hasRole(staff.role, ERASE_ROLE)) {
    throw new Response('Only administrators may erase a supporter', { status: 403, headers: NO_STORE })
  }
  const db = getDb()
  const email = typeof form.email === 'string' ? form.email : ''

  if (intent === 'erase') {
    const parsed = eraseSchema.safeParse(form)
    if (!parsed.success) {
      // The confirmation page again, with the reason; nothing is written.
      const summary = supporterEmailSchema.safeParse(email).success ? summarise(await findSupporterRecords(db, email)) : null
      return data({ view: 'review' as const, email, fieldErrors: firstErrors(parsed.error.issues), summary }, { status: 400, headers: NO_STORE })
    }
    const result = await eraseSupporter(db, staff.id, parsed.data.email)
    if (!result.ok) {
      const records = await findSupporterRecords(db, parsed.data.email)
      const message = result.reason === 'not-found' ? 'We hold nothing under this address: there is nothing to erase.' : 'This supporter cannot be erased yet.'
      return data({ view: 'review' as const, email, fieldErrors: { form: message }, summary: summarise(records) }, { status: 400, headers: NO_STORE })
    }
    return redirect('/staff/supporters?done=erased', { status: 303, headers: NO_STORE })
  }

  const parsed = findSchema.safeParse(form)
  if (!parsed.success) return data({ view: 'search' as const, email, fieldErrors: firstErrors(parsed.error.issues), summary: null }, { status: 400, headers: NO_STORE })
  const records = await lookUpSupporter(db, staff.id, parsed.data.email)
  return data(
    { view: parsed.data.intent === 'find' ? ('found' as const) : ('review' as const), email: parsed.data.email, fieldErrors: {} as FieldErrors, summary: summarise(records) },
    { headers: NO_STORE },
  )
}

/** What the page shows: enough to recognise the person and see what the export will hold. */
function summarise(records: SupporterRecords) {
  const kept = records.giftAidDeclarations.filter((row) => row.full_name !== '')
  return {
    holdsAnything: holdsAnything(records),
    supporter: records.supporter
      ? {
          id: records.supporter.id,
          name: records.supporter.name,
          email: records.supporter.email,
          since: when(records.supporter.created_at),
          erasedAt: when(records.supporter.erased_at),
        }
      : null,
    counts: RECORD_KINDS.map(({ kind, label }) => ({ kind, label, count: records[kind].length })).filter((row) => row.count > 0),
    donations: records.donations.map((row) => ({
      id: row.id,
      date: when(row.confirmed_at ?? row.created_at),
      appeal: row.appeal_title,
      amount: formatMoney(row.amount_minor, row.currency),
      status: DONATION_STATUS_NAMES[row.status],
      monthly: row.frequency === 'monthly',
    })),
    registrations: records.registrations.map((row) => ({
      id: row.id,
      event: row.event_title,
      eventDate: when(row.event_starts_at),
      places: Number(row.quantity),
      status: REGISTRATION_STATUS_NAMES[row.status],
    })),
    giftAidDeclarations: kept.length,
    blockers: erasureBlockers(records).map((blocker) => blocker.message),
  }
}

type Summary = ReturnType<typeof summarise>

export default function SupportersData() {
  const { canErase, erased } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const errors: FieldErrors = result?.fieldErrors ?? {}
  const summary = result?.summary ?? null
  const view = result?.view ?? 'search'
  return (
    <div className="container page">
      <h1>Supporters’ data</h1>
      <p className="lead">
        Find everything we hold about one supporter by their email address: to send it to them (a subject access request), or
        for administrators to erase it when they ask to be forgotten. Every look-up, export and erasure is recorded in the audit
        log.
      </p>
      {erased && !result ? (
        <p role="status" className="lead">
          The supporter’s personal data is erased. Their gifts still count in the totals, without their name.
        </p>
      ) : null}

      <Form method="post" className="section" noValidate>
        <input type="hidden" name="intent" value="find" />
        {view === 'search' && errors.form ? <p className="field-error">{errors.form}</p> : null}
        <div className="field">
          <label htmlFor="supporter-email">Their email address</label>
          {view === 'search' && errors.email ? (
            <p id="supporter-email-error" className="field-error">
              <span className="visually-hidden">Error: </span>
              {errors.email}
            </p>
          ) : null}
          <input
            id="supporter-email"
            name="email"
            type="email"
            autoComplete="off"
            spellCheck={false}
            defaultValue={view === 'search' ? result?.email : ''}
            aria-invalid={view === 'search' && errors.email ? true : undefined}
            aria-describedby={view === 'search' && errors.email ? 'supporter-email-error' : undefined}
          />
        </div>
        <button type="submit" className="button">
          Find
        </button>
      </Form>

      {result && view === 'found' && summary ? <Found email={result.email} summary={summary} canErase={canErase} /> : null}
      {result && view === 'review' ? <ReviewErase email={result.email} summary={summary} errors={errors} /> : null}
    </div>
  )
}

function Held({ summary }: { summary: Summary }) {
  return (
    <>
      {summary.supporter ? (
        <p>
          {summary.supporter.erasedAt ? (
            <>Supporter record erased {summary.supporter.erasedAt}.</>
          ) : (
            <>
              <strong>{summary.supporter.name ?? 'No name given'}</strong> ({summary.supporter.email}), first seen {summary.supporter.since}.
            </>
          )}
        </p>
      ) : (
        <p>There is no supporter record for this address{summary.holdsAnything ? ', but other records carry it.' : '.'}</p>
      )}
      {summary.counts.length > 0 ? (
        <table className="table">
          <caption>Records, by kind</caption>
          <thead>
            <tr>
              <th scope="col">Kind of record</th>
              <th scope="col">How many</th>
            </tr>
          </thead>
          <tbody>
            {summary.counts.map((row) => (
              <tr key={row.kind}>
                <th scope="row">{row.label}</th>
                <td>{row.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {summary.donations.length > 0 ? (
        <TableScroll label="Donations">
          <table className="table">
            <caption>Donations</caption>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Appeal</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {summary.donations.map((row) => (
                <tr key={row.id}>
                  <td>{row.date}</td>
                  <td>{row.appeal}</td>
                  <td>
                    {row.amount}
                    {row.monthly ? ' (monthly)' : ''}
                  </td>
                  <td>{row.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      ) : null}
      {summary.registrations.length > 0 ? (
        <TableScroll label="Event registrations">
          <table className="table">
            <caption>Event registrations</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Date</th>
                <th scope="col">Places</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {summary.registrations.map((row) => (
                <tr key={row.id}>
                  <td>{row.event}</td>
                  <td>{row.eventDate}</td>
                  <td>{row.places}</td>
                  <td>{row.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      ) : null}
    </>
  )
}

function Found({ email, summary, canErase }: { email: string; summary: Summary; canErase: boolean }) {
  return (
    <section className="section" aria-labelledby="found-title">
      <h2 id="found-title">What we hold</h2>
      {!summary.holdsAnything ? (
        <p role="status">We hold nothing under this address.</p>
      ) : (
        <>
          <Held summary={summary} />
          {/* A plain form: the browser itself saves the file, with or without JavaScript. */}
          <form method="post" action="/staff/supporters/export.json">
            <input type="hidden" name="email" value={email} />
            <button type="submit" className="button">
              Download everything (JSON)
            </button>
          </form>
          {canErase && !summary.supporter?.erasedAt ? (
            <Form method="post" className="section">
              <input type="hidden" name="intent" value="review-erase" />
              <input type="hidden" name="email" value={email} />
              <button type="submit" className="button button--secondary">
                Erase this supporter…
              </button>
            </Form>
          ) : null}
        </>
      )}
    </section>
  )
}

function ReviewErase({ email, summary, errors }: { email: string; summary: Summary | null; errors: FieldErrors }) {
  return (
    <section className="section" aria-labelledby="erase-title">
      <h2 id="erase-title">Erase this supporter?</h2>
      {errors.form ? (
        <div className="error-summary" role="alert">
          <p>{errors.form}</p>
        </div>
      ) : null}
      {summary ? <Held summary={summary} /> : null}
      {summary && summary.blockers.length > 0 ? (
        <ul>
          {summary.blockers.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      ) : null}
      <p>
        Erasing removes their name, email address, messages, access needs and addresses from every record, and stops any email
        not yet sent to them. It cannot be undone. Amounts, dates and payment references stay, so the totals and the accounts do
        not change; their gifts show as anonymous.
      </p>
      {summary && summary.giftAidDeclarations > 0 ? (
        <p>
          Gift Aid declarations covering gifts HMRC may still ask about keep only the name, house and postcode HMRC requires, until
          seven years after the last such gift; the nightly retention job then erases them too.
        </p>
      ) : null}
      <Form method="post" noValidate>
        <input type="hidden" name="intent" value="erase" />
        <input type="hidden" name="email" value={email} />
        <div className="field">
          {errors.confirm ? (
            <p id="confirm-error" className="field-error">
              <span className="visually-hidden">Error: </span>
              {errors.confirm}
            </p>
          ) : null}
          <label>
            <input type="checkbox" name="confirm" value="yes" aria-invalid={errors.confirm ? true : undefined} aria-describedby={errors.confirm ? 'confirm-error' : undefined} />{' '}
            I have checked this is the right person, and their personal data is to be erased
          </label>
        </div>
        <button type="submit" className="button">
          Erase their personal data
        </button>
      </Form>
    </section>
  )
}
