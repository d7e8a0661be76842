import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import type { AppealStatus } from '#db/schema.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { formatDay } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { listStaffAppeals } from '#app/modules/appeals/appeal-admin.server.ts'
import { closingDay } from '#app/modules/appeals/appeal-form.server.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Appeals' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const appeals = await listStaffAppeals(getDb())
  return {
    appeals: appeals.map((appeal) => ({
      id: appeal.id,
      slug: appeal.slug,
      title: appeal.title,
      status: appeal.status,
      currency: appeal.currency,
      goalMinor: appeal.goal_minor,
      raisedMinor: appeal.confirmed_gross_minor ?? 0,
      goal: formatMoney(appeal.goal_minor, appeal.currency),
      raised: formatMoney(appeal.confirmed_gross_minor ?? 0, appeal.currency),
      // The last day it is open, as staff typed it (the appeal closes at that day's end).
      closes: appeal.closes_at ? formatDay(`${closingDay(appeal.closes_at)}T12:00:00Z`) : null,
    })),
  }
}

const STATUS_NAMES: Record<AppealStatus, string> = { draft: 'Draft', published: 'Open', closed: 'Closed' }

export default function StaffAppeals() {
  const { appeals } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <h1>Appeals</h1>
      <p>
        <Link to="/staff/appeals/new" className="button">
          New appeal
        </Link>
      </p>
      <TableScroll label="All appeals">
        <table className="table staff-totals">
          <caption>All appeals, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Appeal</th>
              <th scope="col">Status</th>
              <th scope="col">Currency</th>
              <th scope="col" className="numeric">Goal</th>
              <th scope="col" className="numeric">Raised</th>
              <th scope="col">Closes</th>
              <th scope="col">Links</th>
            </tr>
          </thead>
          <tbody>
            {appeals.length === 0 ? (
              <tr>
                <td colSpan={7}>There are no appeals yet.</td>
              </tr>
            ) : null}
            {appeals.map((appeal) => (
              <tr key={appeal.id}>
                <th scope="row">{appeal.title}</th>
                <td>{STATUS_NAMES[appeal.status]}</td>
                <td>{appeal.currency}</td>
                <td className="numeric">{appeal.goal}</td>
                <td className="numeric">{appeal.raised}</td>
                <td>{appeal.closes ?? 'No closing date'}</td>
                <td>
                  <Link to={`/staff/appeals/${appeal.id}`}>
                    Edit<span className="visually-hidden"> {appeal.title}</span>
                  </Link>
                  {' · '}
                  <Link to={`/staff/appeals/${appeal.id}/updates`}>
                    Updates<span className="visually-hidden"> on {appeal.title}</span>
                  </Link>
                  {appeal.status === 'draft' ? null : (
                    <>
                      {' · '}
                      <Link to={`/appeals/${appeal.slug}`}>
                        Public page<span className="visually-hidden"> of {appeal.title}</span>
                      </Link>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </div>
  )
}
