import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import {
  decodeCursor,
  donationFiltersFromUrl,
  donationFiltersToUrl,
  listAppealsForFilter,
  listDonations,
  parseDonationFilters,
  type DonationListItem,
} from '#app/modules/donations/staff-donations.server.ts'
import { ALL_STATUSES, DONATION_STATUSES, DONATION_STATUS_NAMES } from '#app/modules/donations/donation-statuses.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { useOrganisationTimeZone } from '#app/components/use-organisation-time-zone.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Donations' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const FILTER_FIELDS = ['appeal', 'status', 'frequency', 'from', 'to', 'q'] as const

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const db = getDb()
  const params = new URL(request.url).searchParams
  const appeals = await listAppealsForFilter(db)
  const parsed = donationFiltersFromUrl(params, staff.id)
  if (!parsed.ok) {
    return data(
      { appeals, fields: parsed.fields, error: parsed.error, donations: [] as DonationListItem[], olderHref: null, exportHref: null, newestHref: null, isFirstPage: true },
      { status: 400, headers: { 'Cache-Control': 'no-store' } },
    )
  }
  const cursorParam = params.get('before')
  const before = decodeCursor(cursorParam)
  if (cursorParam && !before) {
    return data(
      { appeals, fields: filtersToFields(parsed.filters), error: 'That page link is not valid; start again from the newest donations.', donations: [] as DonationListItem[], olderHref: null, exportHref: null, newestHref: null, isFirstPage: true },
      { status: 400, headers: { 'Cache-Control': 'no-store' } },
    )
  }
  const { donations, olderCursor } = await listDonations(db, parsed.filters, before)
  // The address as it came (its sealed search included), without the page position.
  const query = new URLSearchParams([...params].filter(([key, value]) => key !== 'before' && value !== ''))
  const older = new URLSearchParams(query)
  if (olderCursor) older.set('before', olderCursor)
  return {
    appeals,
    fields: filtersToFields(parsed.filters),
    error: null,
    donations,
    olderHref: olderCursor ? `/staff/donations?${older}` : null,
    exportHref: `/staff/donations/export.csv${query.size ? `?${query}` : ''}`,
    newestHref: `/staff/donations${query.size ? `?${query}` : ''}`,
    isFirstPage: before === null,
  }
}

/**
 * The filter form is POSTed, so a donor's name or email typed into it never becomes part of an
 * address; the answer is a redirect to the list's address with the search sealed in `s`.
 */
export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const form = await readFormData(request)
  const params = new URLSearchParams()
  for (const key of FILTER_FIELDS) {
    const value = form.get(key)
    if (typeof value === 'string') params.set(key, value)
  }
  const parsed = parseDonationFilters(params)
  if (!parsed.ok) return data({ fields: parsed.fields, error: parsed.error }, { status: 400, headers: { 'Cache-Control': 'no-store' } })
  const query = donationFiltersToUrl(parsed.filters, staff.id)
  return redirect(`/staff/donations${query.size ? `?${query}` : ''}`, { status: 303, headers: { 'Cache-Control': 'no-store' } })
}

function filtersToFields(filters: Record<string, string | undefined>) {
  return Object.fromEntries(Object.entries(filters).filter((entry): entry is [string, string] => Boolean(entry[1])))
}



export default function StaffDonations() {
  const timeZone = useOrganisationTimeZone()
  const loaded = useLoaderData<typeof loader>()
  const refused = useActionData<typeof action>()
  const { appeals, donations, olderHref, exportHref, newestHref, isFirstPage } = loaded
  // A refused search shows its own fields and message over the list it did not replace.
  const fields: Record<string, string | undefined> = refused?.fields ?? loaded.fields
  const error = refused?.error ?? loaded.error
  return (
    <div className="container page staff-donations">
      <h1>Donations</h1>

      <Form method="post" className="staff-filters" aria-label="Filter donations">
        <div className="field">
          <label htmlFor="filter-q">Donor name or email</label>
          <input id="filter-q" name="q" type="search" defaultValue={fields.q ?? ''} maxLength={200} />
        </div>
        <div className="field">
          <label htmlFor="filter-appeal">Appeal</label>
          <select id="filter-appeal" name="appeal" defaultValue={fields.appeal ?? ''}>
            <option value="">All appeals</option>
            {appeals.map((appeal) => (
              <option key={appeal.id} value={appeal.id}>
                {appeal.title} ({appeal.currency})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" name="status" defaultValue={fields.status ?? ''}>
            <option value="">Gifts (confirmed, or payment on its way)</option>
            <option value={ALL_STATUSES}>Everything, with unfinished and declined checkouts</option>
            {DONATION_STATUSES.map((status) => (
              <option key={status} value={status}>
                Only: {DONATION_STATUS_NAMES[status]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-frequency">Frequency</label>
          <select id="filter-frequency" name="frequency" defaultValue={fields.frequency ?? ''}>
            <option value="">One-off and monthly</option>
            <option value="one_off">One-off</option>
            <option value="monthly">Monthly</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-from">From</label>
          <input id="filter-from" name="from" type="date" defaultValue={fields.from ?? ''} />
        </div>
        <div className="field">
          <label htmlFor="filter-to">To</label>
          <input id="filter-to" name="to" type="date" defaultValue={fields.to ?? ''} />
        </div>
        <div className="staff-filters__buttons">
          <button type="submit" className="button">
            Show donations
          </button>
          <Link to="/staff/donations" className="button button--secondary">
            Clear
          </Link>
        </div>
      </Form>

      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}

      {exportHref ? (
        <p>
          <a href={exportHref} download>
            Download these donations as CSV
          </a>{' '}
          (every page, with these filters).
        </p>
      ) : null}

      <div className="table-scroll">
        <table className="table staff-totals">
          <caption>{isFirstPage ? 'Newest donations first' : 'Older donations'}</caption>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">Donor</th>
              <th scope="col">Appeal</th>
              <th scope="col" className="numeric">Amount</th>
              <th scope="col" className="numeric">Refunded</th>
              <th scope="col">Status</th>
              <th scope="col">Frequency</th>
              <th scope="col">Gift Aid</th>
            </tr>
          </thead>
          <tbody>
            {donations.length === 0 ? (
              <tr>
                <td colSpan={8}>No donations match.</td>
              </tr>
            ) : null}
            {donations.map((donation) => (
              <tr key={donation.id}>
                <td>
                  <Link to={`/staff/donations/${donation.id}`}>{formatDateTime(donation.createdAt, timeZone)}</Link>
                </td>
                <td>
                  {donation.donorName ?? 'No name'}
                  {donation.donorEmail ? <span className="staff-totals__status">{donation.donorEmail}</span> : null}
                </td>
                <td>{donation.appealTitle}</td>
                <td className="numeric">
                  {formatMoney(donation.amountMinor, donation.currency)}
                  {donation.feeCoverMinor > 0 ? (
                    <span className="staff-totals__status">+ {formatMoney(donation.feeCoverMinor, donation.currency)} fee</span>
                  ) : null}
                </td>
                <td className="numeric">{donation.refundedMinor > 0 ? formatMoney(donation.refundedMinor, donation.currency) : ''}</td>
                <td>{DONATION_STATUS_NAMES[donation.status]}</td>
                <td>{donation.frequency === 'monthly' ? 'Monthly' : 'One-off'}</td>
                <td>{donation.giftAid ? 'Yes' : 'No'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <nav className="button-row" aria-label="Pages">
        {isFirstPage || !newestHref ? null : (
          <Link to={newestHref} className="button button--secondary">
            Newest
          </Link>
        )}
        {olderHref ? (
          <Link to={olderHref} className="button button--secondary">
            Older
          </Link>
        ) : null}
      </nav>

      <section aria-labelledby="gift-aid-heading">
        <h2 id="gift-aid-heading">Gift Aid</h2>
        <p>
          HMRC&apos;s schedule of the next claim, the claims made and any adjustment due are on the{' '}
          <Link to="/staff/gift-aid">Gift Aid page</Link>.
        </p>
      </section>
    </div>
  )
}
