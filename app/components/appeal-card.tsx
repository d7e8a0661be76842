import { Link } from '@remix-run/react'
import { formatMoneyShort, progressPercent } from '#app/utils/money.ts'

type AppealCardProps = {
  appeal: {
    slug: string
    title: string
    summary: string
    photo_path: string | null
    photo_alt: string | null
    currency: string
    goal_minor: number
    raised_minor: number
    donor_count: number
  }
  headingLevel?: 'h2' | 'h3'
}

export function AppealCard({ appeal, headingLevel: Heading = 'h3' }: AppealCardProps) {
  const percent = progressPercent(appeal.raised_minor, appeal.goal_minor)
  return (
    <article className="card">
      {appeal.photo_path ? (
        <img className="card__image" src={appeal.photo_path} alt={appeal.photo_alt ?? ''} width={640} height={360} loading="lazy" />
      ) : null}
      <div className="card__body">
        <Heading className="card__title">
          <Link to={`/appeals/${appeal.slug}`}>{appeal.title}</Link>
        </Heading>
        <p>{appeal.summary}</p>
        <ProgressBar percent={percent} label={`${percent}% of the goal raised`} />
        <p className="card__figures">
          <strong>{formatMoneyShort(appeal.raised_minor, appeal.currency)}</strong> raised of{' '}
          {formatMoneyShort(appeal.goal_minor, appeal.currency)}
          {' · '}
          {appeal.donor_count === 1 ? '1 donor' : `${appeal.donor_count} donors`}
        </p>
      </div>
    </article>
  )
}

export function ProgressBar({ percent, label }: { percent: number; label: string }) {
  // A native <progress> needs no inline style, so the page keeps a strict style policy.
  return (
    <progress className="progress" max={100} value={percent} aria-label={label}>
      {percent}%
    </progress>
  )
}
