import { data, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import {
  auditFiltersToSearchParams,
  listAuditLog,
  listStaffForAuditFilter,
  parseAuditCursor,
  parseAuditFilters,
  type AuditEntry,
} from '#app/modules/staff/audit.server.ts'
import { describeAuditAction } from '#app/modules/staff/audit-actions.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

export const handle = { staffRole: 'admin' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Audit log' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })


/** Only reads: looking at the audit log adds nothing to it. */
export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const db = getDb()
  const params = new URL(request.url).searchParams
  const staff = await listStaffForAuditFilter(db)
  const parsed = parseAuditFilters(params)
  const cursor = parseAuditCursor(params.get('after'))
  const empty = { staff, entries: [] as Presented[], nextHref: null, newestHref: '/staff/audit', isFirstPage: true }
  if (!parsed.ok) return data({ ...empty, fields: parsed.fields, fieldErrors: parsed.fieldErrors }, { status: 400, headers: { 'Cache-Control': 'no-store' } })
  const fields = Object.fromEntries(auditFiltersToSearchParams(parsed.filters))
  if (cursor === 'invalid') {
    return data(
      { ...empty, fields, fieldErrors: { form: 'That page link is not valid; start again from the newest entries.' } as Record<string, string> },
      { status: 400, headers: { 'Cache-Control': 'no-store' } },
    )
  }
  const { entries, nextCursor } = await listAuditLog(db, parsed.filters, cursor)
  const query = auditFiltersToSearchParams(parsed.filters)
  const next = new URLSearchParams(query)
  if (nextCursor) next.set('after', nextCursor)
  return {
    staff,
    fields,
    fieldErrors: {} as Record<string, string>,
    entries: entries.map(present),
    nextHref: nextCursor ? `/staff/audit?${next}` : null,
    newestHref: `/staff/audit${query.size ? `?${query}` : ''}`,
    isFirstPage: cursor === null,
  }
}

type Presented = ReturnType<typeof present>

function present(entry: AuditEntry) {
  return { ...entry, actionName: describeAuditAction(entry.action), createdAt: entry.createdAt.toISOString(), when: formatDateTime(entry.createdAt, organisationTimeZone(), { seconds: true }) }
}

export default function StaffAudit() {
  const { staff, fields, fieldErrors, entries, nextHref, newestHref, isFirstPage } = useLoaderData<typeof loader>()
  const errorFor = (name: string) =>
    fieldErrors[name] ? (
      <p id={`audit-${name}-error`} className="field-error">
        <span className="visually-hidden">Error: </span>
        {fieldErrors[name]}
      </p>
    ) : null
  const described = (name: string) => (fieldErrors[name] ? { 'aria-describedby': `audit-${name}-error`, 'aria-invalid': true } : {})
  return (
    <div className="container page">
      <h1>Audit log</h1>
      <p>What staff changed, newest first. Times are London time.</p>

      <Form method="get" className="staff-filters" aria-label="Filter the audit log">
        <div className="field">
          <label htmlFor="audit-action">Action starts with</label>
          {errorFor('action')}
          <input id="audit-action" name="action" type="text" defaultValue={fields.action ?? ''} placeholder="event." spellCheck={false} {...described('action')} />
        </div>
        <div className="field">
          <label htmlFor="audit-staff">Staff member</label>
          {errorFor('staff')}
          <select id="audit-staff" name="staff" defaultValue={fields.staff ?? ''} {...described('staff')}>
            <option value="">Anyone</option>
            {staff.map((member) => (
              <option key={member.id} value={member.id}>
                {member.name} ({member.email})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-from">From</label>
          {errorFor('from')}
          <input id="audit-from" name="from" type="date" defaultValue={fields.from ?? ''} {...described('from')} />
        </div>
        <div className="field">
          <label htmlFor="audit-to">To</label>
          {errorFor('to')}
          <input id="audit-to" name="to" type="date" defaultValue={fields.to ?? ''} {...described('to')} />
        </div>
        <div className="staff-filters__buttons">
          <button type="submit" className="button">
            Show entries
          </button>
          <Link to="/staff/audit" className="button button--secondary">
            Clear
          </Link>
        </div>
      </Form>
      {fieldErrors.form ? (
        <p className="form-error" role="alert">
          {fieldErrors.form}
        </p>
      ) : null}

      <TableScroll label="Audit log entries">
        <table className="table staff-totals">
          <caption>{isFirstPage ? 'Newest entries' : 'Older entries'}</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Subject</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.length === 0 ? (
              <tr>
                <td colSpan={5}>No entries match.</td>
              </tr>
            ) : null}
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <time dateTime={entry.createdAt}>{entry.when}</time>
                </td>
                <td>{entry.who}</td>
                <th scope="row">
                  {entry.actionName}
                  {/* The stored key, which the "Action starts with" filter searches by. */}
                  <span className="staff-totals__status">
                    <code>{entry.action}</code>
                  </span>
                </th>
                <td>
                  {entry.subject ? (
                    entry.subject.href ? (
                      <Link to={entry.subject.href}>{entry.subject.label ?? `${entry.subject.type} ${entry.subject.id.slice(0, 8)}`}</Link>
                    ) : (
                      (entry.subject.label ?? `${entry.subject.type} ${entry.subject.id.slice(0, 8)}`)
                    )
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {entry.details.length === 0 ? (
                    '—'
                  ) : (
                    <>
                      <dl className="audit-details">
                        {entry.details.map((detail) => (
                          <div key={detail.key}>
                            <dt>{detail.key}:</dt> <dd>{detail.value}</dd>
                          </div>
                        ))}
                      </dl>
                      {entry.moreDetails > 0 ? <p>and {entry.moreDetails} more</p> : null}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>

      <nav aria-label="Audit log pages" className="staff-pager">
        {!isFirstPage ? <Link to={newestHref}>Newest entries</Link> : null} {nextHref ? <Link to={nextHref}>Older entries</Link> : null}
      </nav>
    </div>
  )
}
