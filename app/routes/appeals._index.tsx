import type { MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { AppealCard } from '#app/components/appeal-card.tsx'
import { listPublicAppeals } from '#app/modules/appeals/appeals.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const meta: MetaFunction = () => [
  { title: 'Appeals' },
  { name: 'description', content: 'Fundraising appeals for former prisoners rebuilding their lives.' },
]

export async function loader() {
  return { appeals: await listPublicAppeals(getDb()) }
}

export default function AppealsPage() {
  const { appeals } = useLoaderData<typeof loader>()
  return (
    <div className="container page">
      <h1>Appeals</h1>
      <p className="lead">
        Every appeal raises money for one person harmed by detention: for rehabilitation, medical care and rebuilding a life.
      </p>
      {appeals.length > 0 ? (
        <div className="card-grid">
          {appeals.map((appeal) => (
            <AppealCard key={appeal.id} appeal={appeal} headingLevel="h2" />
          ))}
        </div>
      ) : (
        <p>There are no open appeals at the moment.</p>
      )}
    </div>
  )
}
