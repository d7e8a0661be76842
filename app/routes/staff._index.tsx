import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getCampaignTotals } from '#app/modules/staff/totals.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'

export const handle = { staffRole: 'viewer' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Campaign totals' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  return getCampaignTotals(getDb())
}

const STATUS_NAMES = { published: 'Published', draft: 'Draft', closed: 'Closed' } as const

export default function CampaignTotals() {
  const { appeals, organisation } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <h1>Campaign totals</h1>
      <p>
        Confirmed gifts only. Net is what we keep: gross less refunds and money held in open or lost disputes. Each appeal is
        shown in its own currency.
      </p>

      <div className="table-scroll">
        <table className="table staff-totals">
          <caption>Totals by appeal</caption>
          <thead>
            <tr>
              <th scope="col">Appeal</th>
              <th scope="col" className="numeric">Gross</th>
              <th scope="col" className="numeric">Refunded</th>
              <th scope="col" className="numeric">Disputed</th>
              <th scope="col" className="numeric">Net</th>
              <th scope="col" className="numeric">Donations</th>
              <th scope="col" className="numeric">Donors</th>
              <th scope="col" className="numeric">Goal</th>
              <th scope="col" className="numeric">Active monthly gifts</th>
              <th scope="col" className="numeric">Monthly income</th>
            </tr>
          </thead>
          <tbody>
            {appeals.length === 0 ? (
              <tr>
                <td colSpan={10}>There are no appeals yet.</td>
              </tr>
            ) : null}
            {appeals.map((appeal) => (
              <tr key={appeal.appealId}>
                <th scope="row">
                  {appeal.status === 'published' ? <Link to={`/appeals/${appeal.slug}`}>{appeal.title}</Link> : appeal.title}
                  <span className="staff-totals__status"> {STATUS_NAMES[appeal.status]}, {appeal.currency}</span>
                </th>
                <td className="numeric">{formatMoney(appeal.grossMinor, appeal.currency)}</td>
                <td className="numeric">{formatMoney(appeal.refundedMinor, appeal.currency)}</td>
                <td className="numeric">{formatMoney(appeal.disputedMinor, appeal.currency)}</td>
                <td className="numeric">
                  <strong>{formatMoney(appeal.netMinor, appeal.currency)}</strong>
                </td>
                <td className="numeric">{appeal.donationCount}</td>
                <td className="numeric">{appeal.donorCount}</td>
                <td className="numeric">
                  {appeal.progressPercent}% of {formatMoney(appeal.goalMinor, appeal.currency)}
                </td>
                <td className="numeric">{appeal.activeMonthlyCount}</td>
                <td className="numeric">{formatMoney(appeal.monthlyIncomeMinor, appeal.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <div className="table-scroll">
        <table className="table staff-totals">
          <caption>Organisation totals by currency</caption>
          <thead>
            <tr>
              <th scope="col">Currency</th>
              <th scope="col" className="numeric">Appeals</th>
              <th scope="col" className="numeric">Gross</th>
              <th scope="col" className="numeric">Refunded</th>
              <th scope="col" className="numeric">Disputed</th>
              <th scope="col" className="numeric">Net</th>
              <th scope="col" className="numeric">Donations</th>
              <th scope="col" className="numeric">Donors</th>
              <th scope="col" className="numeric">Active monthly gifts</th>
              <th scope="col" className="numeric">Monthly income</th>
            </tr>
          </thead>
          <tbody>
            {organisation.length === 0 ? (
              <tr>
                <td colSpan={10}>No money has been raised yet.</td>
              </tr>
            ) : null}
            {organisation.map((totals) => (
              <tr key={totals.currency}>
                <th scope="row">{totals.currency}</th>
                <td className="numeric">{totals.appealCount}</td>
                <td className="numeric">{formatMoney(totals.grossMinor, totals.currency)}</td>
                <td className="numeric">{formatMoney(totals.refundedMinor, totals.currency)}</td>
                <td className="numeric">{formatMoney(totals.disputedMinor, totals.currency)}</td>
                <td className="numeric">
                  <strong>{formatMoney(totals.netMinor, totals.currency)}</strong>
                </td>
                <td className="numeric">{totals.donationCount}</td>
                <td className="numeric">{totals.donorCount}</td>
                <td className="numeric">{totals.activeMonthlyCount}</td>
                <td className="numeric">{formatMoney(totals.monthlyIncomeMinor, totals.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}
