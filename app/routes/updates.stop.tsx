import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimitedReply } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { LINK_PURPOSE, verifySignature } from '#app/utils/signed-links.server.ts'
import { RateLimitNotice } from '#app/components/rate-limit-notice.tsx'
import { getAppealTitle, stopAppealUpdates } from '#app/modules/appeals/appeal-updates.server.ts'
import { isOneClickUnsubscribe, linkParameters, oneClickDone } from '#app/utils/one-click-unsubscribe.ts'

const schema = z.object({ appeal: z.string().uuid(), supporter: z.string().uuid(), signature: z.string().min(10).max(200) })

export const meta: MetaFunction = () => [{ title: 'Stop appeal updates' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

/** The signed link in each appeal-update email: the link itself is the permission, no account needed. */
function linkFrom(values: Record<string, unknown>) {
  const parsed = schema.safeParse(values)
  if (!parsed.success || !verifySignature(LINK_PURPOSE.appealUpdates, `${parsed.data.appeal}:${parsed.data.supporter}`, parsed.data.signature)) {
    throw new Response('This link is not valid', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  }
  return parsed.data
}

// Only a button here: mail scanners follow links with GET, and must not unsubscribe anyone.
export async function loader({ request }: LoaderFunctionArgs) {
  const link = linkFrom(Object.fromEntries(new URL(request.url).searchParams))
  const appealTitle = await getAppealTitle(getDb(), link.appeal)
  if (appealTitle === null) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  return { link, appealTitle }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const form = await readFormData(request)
  if (isOneClickUnsubscribe(form)) {
    const link = linkFrom(linkParameters(request))
    if (!(await stopAppealUpdates(getDb(), link.appeal, link.supporter))) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
    return oneClickDone()
  }
  const limit = await checkRateLimit('signed-link', clientIpFromRequest(request))
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const link = linkFrom(Object.fromEntries(form))
  const stopped = await stopAppealUpdates(getDb(), link.appeal, link.supporter)
  if (!stopped) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  return { stopped: true }
}

export default function StopAppealUpdates() {
  const { link, appealTitle } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  if (actionData && 'stopped' in actionData) {
    return (
      <div className="container page prose">
        <h1>You will get no more updates</h1>
        <p role="status">We will not email you news of {appealTitle} again. Your receipts are not affected.</p>
        <p>
          <Link to="/appeals">See our appeals</Link>
        </p>
      </div>
    )
  }
  return (
    <div className="container page prose">
      <h1>Stop updates about {appealTitle}</h1>
      <p>You asked for news of this appeal when you gave. You can stop these emails here.</p>
      <Form method="post">
        <RateLimitNotice actionData={actionData} />
        <input type="hidden" name="appeal" value={link.appeal} />
        <input type="hidden" name="supporter" value={link.supporter} />
        <input type="hidden" name="signature" value={link.signature} />
        <button type="submit" className="button">
          Stop updates about this appeal
        </button>
      </Form>
    </div>
  )
}
