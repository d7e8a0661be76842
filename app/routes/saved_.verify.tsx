import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { confirmSaverLink, previewSaverLink } from '#app/modules/events/saver-links.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readSaverId, saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import { verifySignature } from '#app/utils/signed-links.server.ts'

/*
 * Named `saved_.verify` rather than `saved.verify`: in Remix's flat routes the latter would be a
 * child of the saved events page, rendered only inside its (absent) <Outlet/>.
 */

const linkSchema = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/),
  signature: z.string().min(10).max(200),
})

export const INVALID_LINK_MESSAGE = 'This link has expired or has already been used. You can ask for a new one on your saved events page.'

// The token must not leak to another site through the Referer of a later request.
export const meta: MetaFunction = () => [
  { title: 'Keep your saved events' },
  { name: 'robots', content: 'noindex' },
  { name: 'referrer', content: 'no-referrer' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' })

function parseLink(values: Record<string, unknown>) {
  const parsed = linkSchema.safeParse(values)
  if (!parsed.success || !verifySignature('saver-link', parsed.data.token, parsed.data.signature)) return null
  return parsed.data
}

/**
 * Only shows what confirming will do, and a button: mail scanners and link previews follow links
 * with GET, and must neither spend the link nor join their own "browser" to someone's saves.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  const link = parseLink(Object.fromEntries(new URL(request.url).searchParams))
  const preview = link ? await previewSaverLink(getDb(), link.token, await readSaverId(request)) : null
  return { link: preview ? link : null, addedCount: preview?.addedCount ?? 0, askedHere: preview?.askedHere ?? false }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const link = parseLink(Object.fromEntries(await request.formData()))
  const result = link ? await confirmSaverLink(getDb(), link.token, await readSaverId(request)) : { ok: false as const }
  if (!result.ok) return data({ error: INVALID_LINK_MESSAGE }, { status: 400, headers: { 'Cache-Control': 'no-store' } })
  return redirect('/saved?kept=1', { status: 303, headers: { 'Set-Cookie': await saverCookieHeader(result.saverId), 'Cache-Control': 'no-store' } })
}

export default function VerifySaverLink() {
  const { link, addedCount, askedHere } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  if (!link || actionData?.error) {
    return (
      <div className="container page prose">
        <h1>This link does not work</h1>
        <p role="alert">{actionData?.error ?? INVALID_LINK_MESSAGE}</p>
        <p>
          <Link to="/saved">Your saved events</Link>
        </p>
      </div>
    )
  }
  const events = addedCount === 1 ? '1 saved event' : `${addedCount} saved events`
  return (
    <div className="container page prose">
      <h1>Keep your saved events on this device</h1>
      <p>Confirming links this browser to the list of saved events kept for your email address.</p>
      {askedHere ? (
        <ul>
          <li>
            This is the browser where the link was asked for.{' '}
            {addedCount === 0 ? 'It adds no new saved events to the list' : `Its ${events} will be added to the list`}, and it will show
            that list from now on.
          </li>
        </ul>
      ) : (
        <ul>
          <li>{addedCount === 0 ? 'No saved events' : events} from the browser where the link was asked for will be added to the list.</li>
          <li>Events saved in this browser will be added too, and this browser will show the list from now on.</li>
          <li>The browser where the link was asked for is not linked: it will not see the list unless a link is opened there too.</li>
        </ul>
      )}
      <p>If you did not ask for this link, close this page: nothing happens unless you press the button.</p>
      <Form method="post">
        <input type="hidden" name="token" value={link.token} />
        <input type="hidden" name="signature" value={link.signature} />
        <button type="submit" className="button">
          Link this browser to my saved events
        </button>
      </Form>
    </div>
  )
}

export function ErrorBoundary() {
  return (
    <div className="container page prose">
      <h1>Something went wrong</h1>
      <p>
        We could not open this link. Please try again, or <Link to="/saved">go to your saved events</Link>.
      </p>
    </div>
  )
}
