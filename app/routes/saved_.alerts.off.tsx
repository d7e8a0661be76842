import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { saverAlertsOn, turnOffSaverAlerts } from '#app/modules/events/saver-links.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimitedReply } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { LINK_PURPOSE, verifySignature } from '#app/utils/signed-links.server.ts'
import { RateLimitNotice } from '#app/components/rate-limit-notice.tsx'
import { isOneClickUnsubscribe, linkParameters, oneClickDone } from '#app/utils/one-click-unsubscribe.ts'

/* `saved_.alerts.off`, not `saved.alerts.off`: a page of its own, not a child of /saved. */

const schema = z.object({ saver: z.string().uuid(), signature: z.string().min(10).max(200) })

export const meta: MetaFunction = () => [{ title: 'Turn off saved event alerts' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

/** The signed link in every alert: the link itself is the permission, no account needed. */
function linkFrom(values: Record<string, unknown>) {
  const parsed = schema.safeParse(values)
  if (!parsed.success || !verifySignature(LINK_PURPOSE.saverAlertsOff, parsed.data.saver, parsed.data.signature)) {
    throw new Response('This link is not valid', { status: 404 })
  }
  return parsed.data
}

// A GET only shows the button, so a mail scanner following the link turns nothing off.
export async function loader({ request }: LoaderFunctionArgs) {
  const link = linkFrom(Object.fromEntries(new URL(request.url).searchParams))
  const on = await saverAlertsOn(getDb(), link.saver)
  if (on === null) throw new Response('Not found', { status: 404 })
  return { link, on }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const form = await readFormData(request)
  if (isOneClickUnsubscribe(form)) {
    const link = linkFrom(linkParameters(request))
    if (!(await turnOffSaverAlerts(getDb(), link.saver))) throw new Response('Not found', { status: 404 })
    return oneClickDone()
  }
  const limit = await checkRateLimit('signed-link', clientIpFromRequest(request))
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const link = linkFrom(Object.fromEntries(form))
  if (!(await turnOffSaverAlerts(getDb(), link.saver))) throw new Response('Not found', { status: 404 })
  return { off: true }
}

export default function TurnOffSaverAlerts() {
  const { link, on } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  if ((actionData && 'off' in actionData) || !on) {
    return (
      <div className="container page prose">
        <h1>Alerts are off</h1>
        <p role="status">We will not send you any more alerts about your saved events. Your saved events are still kept.</p>
        <p>
          <Link to="/saved">Your saved events</Link>
        </p>
      </div>
    )
  }
  return (
    <div className="container page prose">
      <h1>Turn off saved event alerts</h1>
      <p>You will get no more reminders or “only a few places left” emails about the events you saved.</p>
      <Form method="post">
        <RateLimitNotice actionData={actionData} />
        <input type="hidden" name="saver" value={link.saver} />
        <input type="hidden" name="signature" value={link.signature} />
        <button type="submit" className="button">
          Turn off my alerts
        </button>
      </Form>
    </div>
  )
}

export function ErrorBoundary() {
  return (
    <div className="container page prose">
      <h1>This link does not work</h1>
      <p>
        Please use the link in one of our alert emails. <Link to="/saved">Your saved events</Link>
      </p>
    </div>
  )
}
