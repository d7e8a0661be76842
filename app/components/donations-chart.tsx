import { formatMoney, formatMoneyShort } from '#app/utils/money.ts'

export type ChartBucket = { start: string; grossMinor: number }

type Props = {
  /** Unique on the page: used for the ids the chart's title and description hang on. */
  id: string
  currency: string
  unit: 'day' | 'week'
  buckets: ChartBucket[]
}

const WIDTH = 720
const HEIGHT = 280
const PLOT = { left: 84, right: 16, top: 16, bottom: 56 }
const shortDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' })
const longDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })

const dayOf = (start: string) => new Date(`${start}T00:00:00.000Z`)

/** "3 March 2025" or "week of 3 March 2025": how a bucket is named to people. */
export function bucketName(start: string, unit: 'day' | 'week') {
  const date = longDate.format(dayOf(start))
  return unit === 'week' ? `Week of ${date}` : date
}

/** Up to `count` evenly spread indexes from 0 to length - 1, first and last included. */
function spread(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, index) => index)
  const step = (length - 1) / (count - 1)
  return [...new Set(Array.from({ length: count }, (_, index) => Math.round(index * step)))]
}

/**
 * Confirmed gross over time in one currency, as a bar chart drawn on the server (no script), with
 * the same numbers in a table below it for screen readers, keyboard users and anyone who wants
 * exact amounts. Buckets without gifts are drawn as zero-height bars and listed as zero.
 */
export function DonationsChart({ id, currency, unit, buckets }: Props) {
  const titleId = `${id}-title`
  const descId = `${id}-desc`
  const total = buckets.reduce((sum, bucket) => sum + bucket.grossMinor, 0)
  const max = Math.max(0, ...buckets.map((bucket) => bucket.grossMinor))
  const scaleMax = max > 0 ? max : 1
  const plotWidth = WIDTH - PLOT.left - PLOT.right
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom
  const slot = buckets.length > 0 ? plotWidth / buckets.length : plotWidth
  const barWidth = Math.max(1, slot * 0.8)
  const baseline = PLOT.top + plotHeight
  const unitName = unit === 'week' ? 'week' : 'day'
  const title = `Confirmed gross per ${unitName} in ${currency}`
  const first = buckets[0]
  const last = buckets[buckets.length - 1]
  const description =
    first && last
      ? `${buckets.length} ${unitName}s from ${bucketName(first.start, unit)} to ${bucketName(last.start, unit)}; ` +
        `total ${formatMoney(total, currency)}, highest ${formatMoney(max, currency)}.`
      : 'No days in this range.'
  const yTicks = max > 0 ? [0, max / 2, max] : [0]

  return (
    <figure className="donations-chart">
      <svg
        className="donations-chart__svg"
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        preserveAspectRatio="xMinYMin meet"
      >
        <title id={titleId}>{title}</title>
        <desc id={descId}>{description}</desc>
        <g className="donations-chart__grid" aria-hidden="true">
          {yTicks.map((tick) => {
            const y = baseline - (tick / scaleMax) * plotHeight
            return (
              <g key={tick}>
                <line x1={PLOT.left} x2={WIDTH - PLOT.right} y1={y} y2={y} className="donations-chart__gridline" />
                <text x={PLOT.left - 8} y={y} dy="0.35em" textAnchor="end" className="donations-chart__tick">
                  {formatMoneyShort(Math.round(tick), currency)}
                </text>
              </g>
            )
          })}
        </g>
        <g className="donations-chart__bars">
          {buckets.map((bucket, index) => {
            const height = (bucket.grossMinor / scaleMax) * plotHeight
            return (
              <rect
                key={bucket.start}
                className={bucket.grossMinor === 0 ? 'donations-chart__bar donations-chart__bar--zero' : 'donations-chart__bar'}
                x={PLOT.left + index * slot + (slot - barWidth) / 2}
                y={baseline - height}
                width={barWidth}
                height={height}
                data-start={bucket.start}
                data-amount-minor={bucket.grossMinor}
              >
                <title>{`${bucketName(bucket.start, unit)}: ${formatMoney(bucket.grossMinor, currency)}`}</title>
              </rect>
            )
          })}
        </g>
        <g className="donations-chart__axes" aria-hidden="true">
          <line x1={PLOT.left} x2={WIDTH - PLOT.right} y1={baseline} y2={baseline} className="donations-chart__axis" />
          <line x1={PLOT.left} x2={PLOT.left} y1={PLOT.top} y2={baseline} className="donations-chart__axis" />
          {spread(buckets.length, 6).map((index) => (
            <text
              key={index}
              x={PLOT.left + index * slot + slot / 2}
              y={baseline + 18}
              textAnchor="middle"
              className="donations-chart__tick"
            >
              {shortDate.format(dayOf(buckets[index]!.start))}
            </text>
          ))}
          <text x={PLOT.left + plotWidth / 2} y={HEIGHT - 8} textAnchor="middle" className="donations-chart__label">
            {unit === 'week' ? 'Week starting (UTC)' : 'Day (UTC)'}
          </text>
          <text
            x={0}
            y={0}
            transform={`translate(16 ${PLOT.top + plotHeight / 2}) rotate(-90)`}
            textAnchor="middle"
            className="donations-chart__label"
          >
            {`Confirmed gross (${currency})`}
          </text>
        </g>
      </svg>
      {/* The same numbers as the chart, folded away so a long range does not bury the page; a
          closed details element still holds its table for assistive technology to open. */}
      <details className="donations-chart__details">
        <summary>{`${title}, as a table`}</summary>
        <div className="table-scroll">
          <table className="table donations-chart__table">
            <caption>{`${title}, as a table`}</caption>
            <thead>
              <tr>
                <th scope="col">{unit === 'week' ? 'Week' : 'Day'}</th>
                <th scope="col" className="numeric">
                  Confirmed gross
                </th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((bucket) => (
                <tr key={bucket.start} data-start={bucket.start}>
                  <th scope="row">{bucketName(bucket.start, unit)}</th>
                  <td className="numeric" data-amount-minor={bucket.grossMinor}>
                    {formatMoney(bucket.grossMinor, currency)}
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td className="numeric" data-amount-minor={total}>
                  {formatMoney(total, currency)}
                </td>
              </tr>
            </tfoot>
          </table>
        </div>
      </details>
    </figure>
  )
}
