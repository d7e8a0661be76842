import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import type { ReactNode } from 'react'
import { DateRangeFields } from '#app/components/date-range-fields.tsx'
import { DonationsChart } from '#app/components/donations-chart.tsx'
import { hasRole, requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import {
  getCampaignTotals,
  getGiftsOverTime,
  getNetThisMonth,
  parseGiftsRange,
  type AppealGiftsInRange,
  type CurrencyTotals,
  type GiftsRange,
  type GiftsSeries,
} from '#app/modules/donations/campaign-totals.server.ts'
import { getGiftAidOverview } from '#app/modules/donations/gift-aid.server.ts'
import { taxYearAt } from '#app/modules/donations/gift-aid.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { organisationTimeZone } from '#app/utils/time-zone.server.ts'

export const handle = { staffRole: 'viewer' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Campaign totals' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole)
  const db = getDb()
  // Gift Aid is claimed by UK tax year: the dashboard shows the one running now.
  const year = taxYearAt(new Date())
  const timeZone = organisationTimeZone()
  const now = new Date()
  const [campaign, { summary, adjustment }, netThisMonth] = await Promise.all([
    getCampaignTotals(db),
    getGiftAidOverview(db, year),
    getNetThisMonth(db, timeZone, now),
  ])
  const totals = {
    ...campaign,
    headline: {
      month: new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone }).format(now),
      // One line per currency: amounts in different currencies are never added together.
      currencies: campaign.organisation.map((totals) => ({
        currency: totals.currency,
        netThisMonthMinor: netThisMonth.get(totals.currency) ?? 0,
        netMinor: totals.netMinor,
        donorCount: totals.donorCount,
        activeMonthlyCount: totals.activeMonthlyCount,
        monthlyIncomeMinor: totals.monthlyIncomeMinor,
      })),
    },
    giftAid: {
      year,
      eligibleMinor: summary.eligibleMinor,
      giftAidMinor: summary.giftAidMinor,
      unclaimedMinor: summary.unclaimedMinor,
      unclaimedGiftAidMinor: summary.unclaimedGiftAidMinor,
      incompleteCount: summary.incompleteCount,
      adjustmentTaxMinor: adjustment.taxMinor,
      canOpen: hasRole(staff.role, 'staff'),
    },
  }
  // The totals above are all time; the range only chooses which gifts the chart shows. A range
  // that is not valid is answered with the form and its error, not a failure.
  const params = new URL(request.url).searchParams
  const parsed = parseGiftsRange(params)
  // Only an appeal from the list may be chosen; anything else is answered with the form's error.
  const appealParam = params.get('appeal')?.trim() ?? ''
  const chartAppeal = totals.appeals.find((appeal) => appeal.appealId === appealParam)
  const appealError = appealParam && !chartAppeal ? 'Choose an appeal from the list, or all appeals.' : null
  if (!parsed.ok || appealError) {
    const fields = parsed.ok ? { from: parsed.range.from, to: parsed.range.to } : parsed.fields
    const rangeError = parsed.ok ? appealError : parsed.error
    return {
      ...totals,
      range: null as GiftsRange | null,
      fields: { ...fields, appeal: '' },
      rangeError: rangeError as string | null,
      series: [] as GiftsSeries[],
      inRange: [] as AppealGiftsInRange[],
    }
  }
  const { series, byAppeal: inRange } = await getGiftsOverTime(db, parsed.range, chartAppeal?.appealId)
  const fields = { from: parsed.range.from, to: parsed.range.to, appeal: chartAppeal?.appealId ?? '' }
  return { ...totals, range: parsed.range as GiftsRange | null, fields, rangeError: null as string | null, series, inRange }
}

const STATUS_NAMES = { published: 'Published', draft: 'Draft', closed: 'Closed' } as const

export default function CampaignTotals() {
  const { appeals, organisation, headline, giftAid, range, fields, rangeError, series, inRange } = useLoaderData<typeof loader>()
  const titles = new Map(appeals.map((appeal) => [appeal.appealId, appeal.title]))
  return (
    <div className="container page">
      <h1>Campaign totals</h1>
      <HeadlineFigures headline={headline} giftAid={giftAid} />

      <p>
        Confirmed gifts only. Net is what we keep: gross less refunds and money held in open or lost disputes. Each appeal is
        shown in its own currency.
      </p>

      {/* A table where there is room for its ten columns; on a phone the same figures as one card per row. */}
      <div className="table-scroll staff-wide-only" tabIndex={0} role="region" aria-label="Totals by appeal">
        <table className="table staff-totals">
          <caption>Totals by appeal</caption>
          <thead>
            <tr>
              <th scope="col">Appeal</th>
              <NumericHeaders names={[...MONEY_HEADERS, 'Donations', 'Donors', 'Goal', ...MONTHLY_HEADERS]} />
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
                <MoneyCells totals={appeal} />
                <td className="numeric">{appeal.donationCount}</td>
                <td className="numeric">{appeal.donorCount}</td>
                <td className="numeric staff-totals__goal">
                  {appeal.progressPercent}% <span>of {formatMoney(appeal.goalMinor, appeal.currency)}</span>
                </td>
                <MonthlyCells totals={appeal} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <section className="staff-narrow-only" aria-labelledby="appeal-cards-heading">
        <h2 id="appeal-cards-heading">Totals by appeal</h2>
        {appeals.length === 0 ? <p>There are no appeals yet.</p> : null}
        <ul className="staff-cards">
          {appeals.map((appeal) => (
            <li key={appeal.appealId} className="staff-card">
              <h3>
                {appeal.status === 'published' ? <Link to={`/appeals/${appeal.slug}`}>{appeal.title}</Link> : appeal.title}
              </h3>
              <p className="staff-totals__status">
                {STATUS_NAMES[appeal.status]}, {appeal.currency}
              </p>
              <TotalsFacts totals={appeal}>
                <dt>Goal</dt>
                <dd>
                  {appeal.progressPercent}% of {formatMoney(appeal.goalMinor, appeal.currency)}
                </dd>
              </TotalsFacts>
            </li>
          ))}
        </ul>
      </section>

      <div className="table-scroll staff-wide-only" tabIndex={0} role="region" aria-label="Organisation totals by currency">
        <table className="table staff-totals">
          <caption>Organisation totals by currency</caption>
          <thead>
            <tr>
              <th scope="col">Currency</th>
              <NumericHeaders names={['Appeals', ...MONEY_HEADERS, 'Donations', 'Donors', ...MONTHLY_HEADERS]} />
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
                <MoneyCells totals={totals} />
                <td className="numeric">{totals.donationCount}</td>
                <td className="numeric">{totals.donorCount}</td>
                <MonthlyCells totals={totals} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <section className="staff-narrow-only" aria-labelledby="currency-cards-heading">
        <h2 id="currency-cards-heading">Organisation totals by currency</h2>
        {organisation.length === 0 ? <p>No money has been raised yet.</p> : null}
        <ul className="staff-cards">
          {organisation.map((totals) => (
            <li key={totals.currency} className="staff-card">
              <h3>{totals.currency}</h3>
              <TotalsFacts totals={totals}>
                <dt>Appeals</dt>
                <dd>{totals.appealCount}</dd>
              </TotalsFacts>
            </li>
          ))}
        </ul>
      </section>

      <section className="staff-gift-aid" aria-labelledby="staff-gift-aid-heading">
        <h2 id="staff-gift-aid-heading">Gift Aid, tax year {giftAid.year.label}</h2>
        <p>
          Gifts in pounds with a Gift Aid declaration, confirmed from 6 April {giftAid.year.startYear} to 5 April{' '}
          {giftAid.year.startYear + 1} (UK dates): what donors gave, including fees they chose to cover, less refunds and
          disputes. The schedule for HMRC lists the same gifts.
        </p>
        <dl className="facts">
          <dt>Gift Aid eligible</dt>
          <dd>{formatMoney(giftAid.eligibleMinor, 'GBP')}</dd>
          <dt>Gift Aid claimable (25%)</dt>
          <dd>{formatMoney(giftAid.giftAidMinor, 'GBP')}</dd>
          <dt>Not yet claimed</dt>
          <dd>
            {formatMoney(giftAid.unclaimedMinor, 'GBP')} (Gift Aid {formatMoney(giftAid.unclaimedGiftAidMinor, 'GBP')})
          </dd>
          {giftAid.adjustmentTaxMinor > 0 ? (
            <>
              <dt>Over-claimed, to adjust in the next claim</dt>
              <dd>{formatMoney(giftAid.adjustmentTaxMinor, 'GBP')}</dd>
            </>
          ) : null}
        </dl>
        {giftAid.incompleteCount > 0 ? (
          <p>
            {giftAid.incompleteCount === 1 ? 'One gift is' : `${giftAid.incompleteCount} gifts are`} left out: the declaration lacks
            what HMRC’s schedule needs.
          </p>
        ) : null}
        {giftAid.canOpen ? (
          <p>
            <Link to="/staff/gift-aid">Gift Aid claims: download the schedule, mark a claim</Link>
          </p>
        ) : null}
      </section>

      <section className="staff-gifts" aria-labelledby="staff-gifts-heading">
        <h2 id="staff-gifts-heading">Confirmed gifts over time</h2>
        <p>
          Money received in the chosen dates (UTC), before refunds and disputes, per day, or per week when the range is longer
          than 92 days, and each appeal's gifts in those dates. The tables above are all time.
        </p>
        <Form method="get" className="staff-filters" aria-label="Choose dates">
          <DateRangeFields idPrefix="gifts" values={fields} errorId={rangeError ? 'gifts-range-error' : undefined} />
          <div className="field">
            <label htmlFor="gifts-appeal">Appeal</label>
            <select id="gifts-appeal" name="appeal" defaultValue={fields.appeal}>
              <option value="">All appeals</option>
              {appeals.map((appeal) => (
                <option key={appeal.appealId} value={appeal.appealId}>
                  {appeal.title}
                </option>
              ))}
            </select>
          </div>
          <div className="staff-filters__buttons">
            <button type="submit" className="button">
              Show gifts
            </button>
            <Link to="/staff" className="button button--secondary">
              Last 30 days
            </Link>
          </div>
        </Form>
        {rangeError ? (
          <p className="form-error" role="alert" id="gifts-range-error">
            {rangeError}
          </p>
        ) : null}
        {range && series.length === 0 ? <p>No gifts were confirmed in these dates.</p> : null}
        {range && inRange.length > 0 ? (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Gifts in these dates by appeal">
            <table className="table staff-totals">
              <caption>Gifts in these dates, by appeal</caption>
              <thead>
                <tr>
                  <th scope="col">Appeal</th>
                  <NumericHeaders names={['Donations', 'Gross']} />
                </tr>
              </thead>
              <tbody>
                {inRange.map((appeal) => (
                  <tr key={appeal.appealId} data-appeal-id={appeal.appealId}>
                    <th scope="row">{titles.get(appeal.appealId)}</th>
                    <td className="numeric">{appeal.donationCount}</td>
                    <td className="numeric" data-amount-minor={appeal.grossMinor}>
                      {formatMoney(appeal.grossMinor, appeal.currency)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {range
          ? series.map((line) => (
              <DonationsChart key={line.currency} id={`gifts-${line.currency.toLowerCase()}`} currency={line.currency} unit={range.unit} buckets={line.buckets} />
            ))
          : null}
      </section>
    </div>
  )
}

const MONEY_HEADERS = ['Gross', 'Refunded', 'Disputed', 'Net']

type Headline = ReturnType<typeof useLoaderData<typeof loader>>['headline']
type GiftAidFigures = ReturnType<typeof useLoaderData<typeof loader>>['giftAid']

/**
 * What staff look for first, above the tables: money kept this month and in all, who gives, the
 * monthly gifts and the Gift Aid still to claim. Each currency on a line of its own.
 */
function HeadlineFigures({ headline, giftAid }: { headline: Headline; giftAid: GiftAidFigures }) {
  const lines = headline.currencies
  const several = lines.length > 1
  // Money carries its own symbol; a count says which currency's donors it is when there are several.
  const money = (value: (line: Headline['currencies'][number]) => string) => (lines.length === 0 ? ['Nothing yet'] : lines.map(value))
  const count = (value: (line: Headline['currencies'][number]) => number, inCurrency: string) =>
    lines.length === 0 ? ['None yet'] : lines.map((line) => `${value(line).toLocaleString('en-GB')}${several ? ` ${inCurrency} ${line.currency}` : ''}`)
  const figures: { label: string; values: string[]; note?: string }[] = [
    { label: `Net raised in ${headline.month}`, values: money((line) => formatMoney(line.netThisMonthMinor, line.currency)) },
    { label: 'Net raised in total', values: money((line) => formatMoney(line.netMinor, line.currency)) },
    { label: 'Supporters who have given', values: count((line) => line.donorCount, 'giving in') },
    {
      label: 'Active monthly gifts',
      values: count((line) => line.activeMonthlyCount, 'in'),
      note: lines.length === 0 ? undefined : `${lines.map((line) => formatMoney(line.monthlyIncomeMinor, line.currency)).join(' and ')} a month`,
    },
    {
      label: `Gift Aid to claim, ${giftAid.year.label}`,
      values: [formatMoney(giftAid.unclaimedGiftAidMinor, 'GBP')],
      note: `on ${formatMoney(giftAid.unclaimedMinor, 'GBP')} of gifts`,
    },
  ]
  return (
    <section aria-labelledby="staff-figures-heading">
      <h2 id="staff-figures-heading" className="visually-hidden">
        At a glance
      </h2>
      <dl className="staff-figures">
        {figures.map((figure) => (
          <div key={figure.label} className="staff-figure">
            <dt>{figure.label}</dt>
            {figure.values.map((value) => (
              <dd key={value} className="staff-figure__value">
                {value}
              </dd>
            ))}
            {figure.note ? <dd className="staff-figure__note">{figure.note}</dd> : null}
          </div>
        ))}
      </dl>
      {giftAid.canOpen ? (
        <p>
          <Link to="/staff/gift-aid">Claim Gift Aid</Link> · <Link to="/staff/donations">See the donations</Link>
        </p>
      ) : null}
    </section>
  )
}

/** A currency's totals, or one appeal's (which has no appeal count). */
type Totals = Omit<CurrencyTotals, 'appealCount'>

/** One row of a totals table as a card's list of facts, for a phone. */
function TotalsFacts({ totals, children }: { totals: Totals; children?: ReactNode }) {
  const money = (minor: number) => formatMoney(minor, totals.currency)
  return (
    <dl className="facts">
      <dt>Net</dt>
      <dd>
        <strong>{money(totals.netMinor)}</strong>
      </dd>
      <dt>Gross</dt>
      <dd>{money(totals.grossMinor)}</dd>
      <dt>Refunded</dt>
      <dd>{money(totals.refundedMinor)}</dd>
      <dt>Disputed</dt>
      <dd>{money(totals.disputedMinor)}</dd>
      <dt>Donations</dt>
      <dd>{totals.donationCount}</dd>
      <dt>Donors</dt>
      <dd>{totals.donorCount}</dd>
      {children}
      <dt>Active monthly gifts</dt>
      <dd>{totals.activeMonthlyCount}</dd>
      <dt>Monthly income</dt>
      <dd>{money(totals.monthlyIncomeMinor)}</dd>
    </dl>
  )
}
const MONTHLY_HEADERS = ['Active monthly gifts', 'Monthly income']

function NumericHeaders({ names }: { names: string[] }) {
  return names.map((name) => (
    <th key={name} scope="col" className="numeric">
      {name}
    </th>
  ))
}

/** Monthly gifts: the last two cells of both totals tables. */
function MonthlyCells({ totals }: { totals: { activeMonthlyCount: number; monthlyIncomeMinor: number; currency: string } }) {
  return (
    <>
      <td className="numeric">{totals.activeMonthlyCount}</td>
      <td className="numeric">{formatMoney(totals.monthlyIncomeMinor, totals.currency)}</td>
    </>
  )
}

/** Gross, refunded, disputed and net: the same four cells in both totals tables. */
function MoneyCells({ totals }: { totals: { grossMinor: number; refundedMinor: number; disputedMinor: number; netMinor: number; currency: string } }) {
  return (
    <>
      <td className="numeric">{formatMoney(totals.grossMinor, totals.currency)}</td>
      <td className="numeric">{formatMoney(totals.refundedMinor, totals.currency)}</td>
      <td className="numeric">{formatMoney(totals.disputedMinor, totals.currency)}</td>
      <td className="numeric">
        <strong>{formatMoney(totals.netMinor, totals.currency)}</strong>
      </td>
    </>
  )
}
