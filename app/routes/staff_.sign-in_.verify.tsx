import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { consumeSignInToken } from '#app/modules/staff/sign-in.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimitedReply, refundRateLimit } from '#app/utils/rate-limit.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { RateLimitNotice } from '#app/components/rate-limit-notice.tsx'

/*
 * Named `staff_.sign-in_.verify` rather than `staff_.sign-in.verify`: in Remix's flat routes the
 * latter would be a child of the sign-in page, rendered only inside its (absent) <Outlet/>.
 */

// The token must not leak to another site through the Referer of a later request. `same-origin`,
// not `no-referrer`: with `no-referrer` the browser posts the page's one form with `Origin: null`,
// which Remix's own CSRF check (and ours) refuses, so the link could never sign anyone in.
export const meta: MetaFunction = () => [
  { title: 'Sign in' },
  { name: 'robots', content: 'noindex' },
  { name: 'referrer', content: 'same-origin' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'same-origin' })

const tokenSchema = z.string().regex(/^[A-Za-z0-9_-]{20,100}$/)

export const INVALID_LINK_MESSAGE = 'This sign-in link has expired or has already been used. Ask for a new one.'

/**
 * Only shows a button: mail scanners and link previews follow links with GET, and must not spend
 * the token before the person does.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get('token') ?? ''
  return { token: tokenSchema.safeParse(token).success ? token : null }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  // Only links that did not work count: a working one gives its point back.
  const clientIp = clientIpFromRequest(request)
  const limit = await checkRateLimit('staff-link-verify', clientIp)
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const parsed = tokenSchema.safeParse((await readFormData(request)).get('token'))
  const result = parsed.success ? await consumeSignInToken(getDb(), parsed.data, request) : { ok: false as const }
  if (!result.ok) return data({ error: INVALID_LINK_MESSAGE }, { status: 400, headers: { 'Cache-Control': 'no-store' } })
  await refundRateLimit('staff-link-verify', clientIp)
  // A member with a second factor is asked for their code: the link alone does not sign them in.
  return redirect(result.needsCode ? '/staff/sign-in/code' : '/staff', {
    status: 303,
    headers: { 'Set-Cookie': result.setCookie, 'Cache-Control': 'no-store' },
  })
}

export default function VerifySignInLink() {
  const { token } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  if (!token || (actionData && 'error' in actionData)) {
    return (
      <div className="container page prose">
        <h1>This link does not work</h1>
        <p role="alert">{actionData && 'error' in actionData ? actionData.error : INVALID_LINK_MESSAGE}</p>
        <p>
          <Link to="/staff/sign-in">Back to sign in</Link>
        </p>
      </div>
    )
  }
  return (
    <div className="container page prose">
      <h1>Sign in to the staff area</h1>
      <p>The link works once. Press the button to sign in on this device.</p>
      <Form method="post">
        <RateLimitNotice actionData={actionData} />
        <input type="hidden" name="token" value={token} />
        <button type="submit" className="button">
          Sign in
        </button>
      </Form>
    </div>
  )
}
