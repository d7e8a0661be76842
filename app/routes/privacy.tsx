import type { MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { getPrivacyNotice } from '#app/modules/organisation/privacy-notice.server.ts'
import { appOrigin } from '#app/utils/absolute-url.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatDay } from '#app/utils/dates.ts'
import { renderMarkdown } from '#app/utils/markdown.server.ts'

export const meta: MetaFunction = () => [
  { title: 'Privacy notice' },
  { name: 'description', content: 'What we collect, why, for how long, who processes it, and your rights under UK GDPR.' },
]

/** The privacy notice every public form links to; administrators edit it at /staff/privacy. */
export async function loader(_args?: { request: Request }) {
  const notice = await getPrivacyNotice(getDb())
  return {
    html: renderMarkdown(notice.markdown, { origin: appOrigin() }),
    updatedAt: notice.updatedAt,
  }
}

export default function PrivacyPage() {
  const { html, updatedAt } = useLoaderData<typeof loader>()
  return (
    <div className="container page prose">
      <h1>Privacy notice</h1>
      {updatedAt ? <p className="lead">Last updated {formatDay(updatedAt)}.</p> : null}
      {/* Sanitised by markdown.server.ts: raw HTML escaped, unsafe links dropped, no outside images. */}
      <div dangerouslySetInnerHTML={{ __html: html }} />
      <p>
        Questions about your data: <Link to="/contact">contact us</Link>.
      </p>
    </div>
  )
}
