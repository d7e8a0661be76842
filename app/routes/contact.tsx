import type { MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { getOrganisation } from '#app/modules/organisation/organisation.server.ts'
import { getDb } from '#app/utils/db.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Contact ${data.name}` : 'Contact us' },
  { name: 'description', content: 'How to reach us about a gift, an event or your data.' },
]

/** Where every "please contact us" on the site leads: one page, so the address is never out of date. */
export async function loader() {
  const organisation = await getOrganisation(getDb())
  return {
    name: organisation?.name ?? 'us',
    email: organisation?.contact_email ?? null,
    charityNumber: organisation?.charity_number ?? null,
    address: organisation?.registered_address ?? null,
  }
}

export default function ContactPage() {
  const { name, email, charityNumber, address } = useLoaderData<typeof loader>()
  return (
    <div className="container page prose">
      <h1>Contact {name}</h1>
      {email ? (
        <p>
          Email us at <a href={`mailto:${email}`}>{email}</a> about a gift, a receipt, an event or your data. We answer
          within a few working days, and within one month for a request about your data.
        </p>
      ) : (
        <p>Our contact address is not set up yet. Please try again later.</p>
      )}
      {address ? (
        <>
          <h2>By post</h2>
          <p>{address}</p>
        </>
      ) : null}
      {charityNumber ? <p>Registered charity number {charityNumber}.</p> : null}
      <p>
        How we use your details: <Link to="/privacy">our privacy notice</Link>.
      </p>
    </div>
  )
}
