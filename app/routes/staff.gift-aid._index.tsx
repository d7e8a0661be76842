import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { hasRole, requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getGiftAidOverview, giftAidRangeSchema, incompleteGifts, type GiftAidRange } from '#app/modules/donations/gift-aid.server.ts'
import { listGiftAidClaims, markClaimedSchema, markGiftAidClaimed } from '#app/modules/donations/gift-aid-claims.server.ts'
import { taxYear, taxYearAt } from '#app/modules/donations/gift-aid.ts'
import { DateRangeFields } from '#app/components/date-range-fields.tsx'
import { useOrganisationTimeZone } from '#app/components/use-organisation-time-zone.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatDay } from '#app/utils/dates.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { formatMoney } from '#app/utils/money.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'

/**
 * `/staff/gift-aid`: the Gift Aid of a range of UK days (a tax year by default), the schedule of
 * the next claim to download, marking it as claimed (administrators), and the claims made so far.
 */

/** The least role that may open this route; marking a claim asks for admin in the action. */
export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }
const CLAIM_ROLE: StaffRole = 'admin'

export const meta: MetaFunction = () => [{ title: 'Gift Aid claims' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const NO_STORE = { 'Cache-Control': 'no-store' }
/** HMRC takes claims for four years after the end of the accounting period: the years worth offering. */
const YEARS_OFFERED = 5

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const params = new URL(request.url).searchParams
  const current = taxYearAt(new Date())
  const fields = { from: params.get('from')?.trim() || current.from, to: params.get('to')?.trim() || current.to }
  const claimed = params.get('claimed')
  const db = getDb()
  const page = {
    fields,
    years: Array.from({ length: YEARS_OFFERED }, (_, back) => taxYear(current.startYear - back)),
    canClaim: hasRole(staff.role, CLAIM_ROLE),
    claims: (await listGiftAidClaims(db)).map((claim) => ({ ...claim, claimedAt: claim.claimedAt.toISOString() })),
    claimedId: claimed && isUuid(claimed) ? claimed : null,
  }
  const parsed = giftAidRangeSchema.safeParse(fields)
  if (!parsed.success) {
    const error = `Choose the first and last days of the gifts. ${parsed.error.issues.map((issue) => issue.message).join('. ')}.`
    return data({ ...page, error, overview: null, incomplete: [] }, { status: 400, headers: NO_STORE })
  }
  const overview = await getGiftAidOverview(db, parsed.data)
  const incomplete = overview.summary.incompleteCount > 0 ? await incompleteGifts(db, parsed.data) : []
  return data({ ...page, error: null as string | null, overview, incomplete }, { headers: NO_STORE })
}

const REFUSALS = {
  changed:
    'The gifts waiting to be claimed, or the adjustment, changed since this page was loaded (a new gift, a refund, or a claim marked by someone else). Nothing was marked. Download the schedule again, check it, and mark that one.',
  'nothing-to-claim': 'There are no unclaimed gifts in these dates, so there is no claim to mark.',
} as const

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  if (!hasRole(staff.role, CLAIM_ROLE)) throw new Response('Only administrators may mark a Gift Aid claim', { status: 403, headers: NO_STORE })
  const parsed = markClaimedSchema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!parsed.success) return data({ error: parsed.error.issues[0]?.message ?? 'Mark the schedule this page shows' }, { status: 400, headers: NO_STORE })
  const result = await markGiftAidClaimed(getDb(), staff.id, parsed.data)
  if (result.outcome !== 'claimed') return data({ error: REFUSALS[result.outcome] }, { status: 409, headers: NO_STORE })
  const back = new URLSearchParams({ from: parsed.data.from, to: parsed.data.to, claimed: result.claimId })
  return redirect(`/staff/gift-aid?${back}`, { status: 303, headers: NO_STORE })
}

const pounds = (minor: number) => formatMoney(minor, 'GBP')
const dayName = (day: string) => formatDay(`${day}T00:00:00Z`)
const rangeName = (range: GiftAidRange) => `${dayName(range.from)} to ${dayName(range.to)}`

export default function GiftAidClaims() {
  const { fields, years, canClaim, claims, claimedId, error, overview, incomplete } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const busy = useNavigation().state === 'submitting'
  const timeZone = useOrganisationTimeZone()
  const justClaimed = claimedId ? claims.find((claim) => claim.id === claimedId) : undefined
  const summary = overview?.summary
  const adjustment = overview?.adjustment
  const download = new URLSearchParams({ from: fields.from, to: fields.to })
  return (
    <div className="container page">
      <h1>Gift Aid claims</h1>
      <p>
        Gift Aid is claimed on gifts in pounds with a Gift Aid declaration: what the donor gave, including a fee they chose to cover,
        less refunds and disputes, by the UK date the gift was confirmed. The schedule follows HMRC’s Charities Online Gift Aid
        schedule: paste its rows into HMRC’s spreadsheet and attach that to the claim.
      </p>

      {justClaimed ? (
        <p className="notice" role="status">
          Claim recorded: {justClaimed.giftCount} {justClaimed.giftCount === 1 ? 'gift' : 'gifts'}, {pounds(justClaimed.donationsMinor)}{' '}
          (Gift Aid {pounds(justClaimed.giftAidMinor)})
          {justClaimed.adjustmentTaxMinor > 0 ? `, with an adjustment of ${pounds(justClaimed.adjustmentTaxMinor)}` : ''}.
        </p>
      ) : null}
      {actionData?.error ? (
        <p className="form-error" role="alert">
          {actionData.error}
        </p>
      ) : null}

      <Form method="get" className="staff-filters" aria-label="Choose the gifts’ dates">
        <DateRangeFields idPrefix="gift-aid" labels={{ from: 'First day', to: 'Last day' }} values={fields} errorId={error ? 'gift-aid-range-error' : undefined} />
        <div className="staff-filters__buttons">
          <button type="submit" className="button">
            Show
          </button>
        </div>
      </Form>
      {error ? (
        <p className="form-error" role="alert" id="gift-aid-range-error">
          {error}
        </p>
      ) : null}
      <nav aria-label="Tax years">
        <p>
          Tax years:{' '}
          {years.map((year, index) => (
            <span key={year.startYear}>
              {index > 0 ? ', ' : null}
              <Link to={`?${new URLSearchParams({ from: year.from, to: year.to })}`} aria-current={fields.from === year.from && fields.to === year.to ? 'page' : undefined}>
                {year.label}
              </Link>
            </span>
          ))}
        </p>
      </nav>

      {summary && adjustment ? (
        <>
          <section aria-labelledby="gift-aid-figures-heading">
            <h2 id="gift-aid-figures-heading">Gifts from {rangeName(summary.range)}</h2>
            <dl className="facts">
              <dt>Gift Aid eligible</dt>
              <dd data-amount-minor={summary.eligibleMinor}>
                {pounds(summary.eligibleMinor)} from {summary.eligibleCount} {summary.eligibleCount === 1 ? 'gift' : 'gifts'}
              </dd>
              <dt>Gift Aid claimable (25%)</dt>
              <dd>{pounds(summary.giftAidMinor)}</dd>
              <dt>Already in a claim</dt>
              <dd>
                {pounds(summary.claimedMinor)} from {summary.claimedCount} {summary.claimedCount === 1 ? 'gift' : 'gifts'}, as claimed
              </dd>
            </dl>
          </section>

          <section aria-labelledby="gift-aid-next-heading">
            <h2 id="gift-aid-next-heading">The next claim</h2>
            <dl className="facts">
              <dt>Not yet claimed</dt>
              <dd data-amount-minor={summary.unclaimedMinor}>
                {pounds(summary.unclaimedMinor)} from {summary.unclaimedCount} {summary.unclaimedCount === 1 ? 'gift' : 'gifts'}
              </dd>
              <dt>Gift Aid on it (25%)</dt>
              <dd>{pounds(summary.unclaimedGiftAidMinor)}</dd>
              <dt>Adjustment for earlier claims</dt>
              <dd>{adjustment.taxMinor > 0 ? pounds(adjustment.taxMinor) : 'None'}</dd>
            </dl>
            <p>
              <a className="button" href={`/staff/gift-aid/export.csv?${download}`} download>
                Download schedule
              </a>{' '}
              <a href={`/staff/gift-aid/export.csv?${new URLSearchParams({ from: fields.from, to: fields.to, gifts: 'all' })}`} download>
                Every eligible gift in these dates, claimed or not
              </a>
            </p>

            {adjustment.taxMinor > 0 ? (
              <>
                <p>
                  {pounds(adjustment.overClaimedMinor)} of gifts already claimed was given back since (refunds and lost or open
                  disputes). Enter <strong>{pounds(adjustment.taxMinor)}</strong>, the Gift Aid over-claimed on it, in the
                  Adjustment box of the next claim, with a note such as “Refunds of gifts claimed before”. The schedule itself lists
                  only new gifts.
                </p>
                {adjustment.taxMinor > summary.unclaimedGiftAidMinor ? (
                  <p>
                    The adjustment is more than the Gift Aid of this claim. HMRC does not take an adjustment larger than the claim it
                    is in: wait for a larger claim, or contact HMRC Charities to repay it.
                  </p>
                ) : null}
                <div className="table-scroll" tabIndex={0} role="region" aria-label="Gifts over-claimed">
                  <table className="table">
                    <caption>Gifts over-claimed</caption>
                    <thead>
                      <tr>
                        <ColumnHeaders names={['Gift', 'Date', 'Claimed', 'Now', 'Over-claimed']} numeric={['Claimed', 'Now', 'Over-claimed']} />
                      </tr>
                    </thead>
                    <tbody>
                      {adjustment.gifts.map((gift) => (
                        <tr key={gift.donationId}>
                          <td>
                            <Link to={`/staff/donations/${gift.donationId}`}>{gift.donationId.slice(0, 8)}</Link>
                          </td>
                          <td>{gift.donationDate}</td>
                          <td className="numeric">{pounds(gift.claimedMinor)}</td>
                          <td className="numeric">{pounds(gift.nowMinor)}</td>
                          <td className="numeric">{pounds(gift.overClaimedMinor)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            ) : null}

            {summary.unclaimedCount === 0 ? (
              <p>There is nothing to claim in these dates.</p>
            ) : canClaim ? (
              <Form method="post" noValidate>
                <input type="hidden" name="from" value={fields.from} />
                <input type="hidden" name="to" value={fields.to} />
                <input type="hidden" name="fingerprint" value={summary.unclaimedFingerprint} />
                <input type="hidden" name="overClaimedMinor" value={adjustment.overClaimedMinor} />
                <div className="field">
                  <label>
                    <input type="checkbox" name="confirm" value="yes" /> I sent this schedule to HMRC in a Charities Online claim
                    {adjustment.taxMinor > 0 ? ', with the adjustment above' : ''}
                  </label>
                </div>
                <button type="submit" className="button" disabled={busy}>
                  Mark as claimed
                </button>
              </Form>
            ) : (
              <p>An administrator marks the schedule as claimed once it is sent to HMRC.</p>
            )}
          </section>

          {incomplete.length > 0 ? (
            <section aria-labelledby="gift-aid-incomplete-heading">
              <h2 id="gift-aid-incomplete-heading">Gifts left out</h2>
              <p>
                {summary.incompleteCount} {summary.incompleteCount === 1 ? 'gift' : 'gifts'} ({pounds(summary.incompleteMinor)}) cannot
                go on the schedule: the declaration lacks a first name, a last name, a house name or number or a postcode, which
                HMRC’s schedule needs. They are not counted as eligible.
              </p>
              <ul>
                {incomplete.map((gift) => (
                  <li key={gift.id}>
                    <Link to={`/staff/donations/${gift.id}`}>
                      {gift.donation_date}, {pounds(gift.eligible_minor)}
                    </Link>
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
        </>
      ) : null}

      <section aria-labelledby="gift-aid-claims-heading">
        <h2 id="gift-aid-claims-heading">Claims made</h2>
        {claims.length === 0 ? (
          <p>No claim has been marked yet.</p>
        ) : (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Claims made">
            <table className="table">
              <caption>Claims made, newest first</caption>
              <thead>
                <tr>
                  <ColumnHeaders names={['Marked', 'By', 'Gifts from', 'Gifts', 'Donations', 'Gift Aid', 'Adjustment', 'Schedule']} numeric={['Gifts', 'Donations', 'Gift Aid', 'Adjustment']} />
                </tr>
              </thead>
              <tbody>
                {claims.map((claim) => (
                  <tr key={claim.id}>
                    <td>{formatDateTime(claim.claimedAt, timeZone)}</td>
                    <td>{claim.staffName ?? '—'}</td>
                    <td>{rangeName(claim.range)}</td>
                    <td className="numeric">{claim.giftCount}</td>
                    <td className="numeric">{pounds(claim.donationsMinor)}</td>
                    <td className="numeric">{pounds(claim.giftAidMinor)}</td>
                    <td className="numeric">{claim.adjustmentTaxMinor > 0 ? pounds(claim.adjustmentTaxMinor) : '—'}</td>
                    <td>
                      <a href={`/staff/gift-aid/export.csv?${new URLSearchParams({ claim: claim.id })}`} download aria-label={`Schedule of the claim marked ${formatDateTime(claim.claimedAt, timeZone)}`}>
                        Download
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  )
}

/** A table's header cells; numeric columns line up as their figures do. */
function ColumnHeaders({ names, numeric }: { names: string[]; numeric: string[] }) {
  return names.map((name) => (
    <th key={name} scope="col" className={numeric.includes(name) ? 'numeric' : undefined}>
      {name}
    </th>
  ))
}
