import type { MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { getOrganisation } from '#app/modules/organisation/organisation.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data?.organisation ? `About ${data.organisation.name}` : 'About' },
  // Search results show this beside the title (Lighthouse's SEO audit asks for one on every page).
  ...(data?.organisation?.vision ? [{ name: 'description', content: data.organisation.vision }] : []),
]

export async function loader() {
  const organisation = await getOrganisation(getDb())
  if (!organisation) throw new Response('Not found', { status: 404 })
  return { organisation }
}

export default function AboutPage() {
  const { organisation } = useLoaderData<typeof loader>()
  return (
    <div className="container page prose">
      <h1>About {organisation.name}</h1>
      <h2>Our vision</h2>
      <p>{organisation.vision}</p>
      <h2>Our mission</h2>
      <p>{organisation.mission}</p>
      <h2>What we focus on</h2>
      <ul>
        {organisation.focus_areas.map((area) => (
          <li key={area}>{area}</li>
        ))}
      </ul>
      <h2 id="privacy">Your privacy</h2>
      <p>
        Many of our supporters live under governments that watch who gives to causes like ours. This site sets no
        tracking cookies, loads no fonts, scripts or images from other websites, and never shows your name, your gift
        or your message unless you ask us to.
      </p>
    </div>
  )
}
