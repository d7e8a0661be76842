import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, isRouteErrorResponse, Link, useActionData, useLoaderData, useRouteError } from '@remix-run/react'
import { z } from 'zod'
import { getMonthlyPlan } from '#app/modules/donations/monthly-gifts.server.ts'
import { stopMonthlyGift } from '#app/modules/payments/monthly-gift-stop.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { checkStopMonthlyGiftLink } from '#app/utils/signed-links.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimitedReply } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { RateLimitNotice } from '#app/components/rate-limit-notice.tsx'

const schema = z.object({
  plan: z.string().uuid(),
  signature: z.string().min(10).max(200),
  // Absent only on links sent before stop links expired (signed-links.server.ts).
  expires: z.coerce.number().int().min(0).max(2 ** 40).optional(),
})

const EXPIRED_MESSAGE =
  'This link has expired: each link works for a while after the receipt that carried it. Please use the link in your most recent monthly receipt, or reply to it and we will stop the gift for you.'

export const meta: MetaFunction = () => [{ title: 'Stop your monthly gift' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

/** The signed link in each monthly receipt: the link itself is the permission, no account needed. */
async function planFromLink(values: Record<string, unknown>) {
  const parsed = schema.safeParse(values)
  const check = parsed.success ? checkStopMonthlyGiftLink(parsed.data) : 'invalid'
  if (!parsed.success || check === 'invalid') throw new Response('This link is not valid', { status: 404 })
  if (check === 'expired') throw new Response(EXPIRED_MESSAGE, { status: 410 })
  const plan = await getMonthlyPlan(getDb(), parsed.data.plan)
  if (!plan) throw new Response('Not found', { status: 404 })
  return { plan, link: parsed.data }
}

export async function loader({ request }: LoaderFunctionArgs) {
  const { plan, link } = await planFromLink(Object.fromEntries(new URL(request.url).searchParams))
  return {
    link,
    plan: { amount: formatMoney(plan.amount_minor, plan.currency), appealTitle: plan.title, stopped: plan.status === 'cancelled' },
  }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const limit = await checkRateLimit('signed-link', clientIpFromRequest(request))
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const { plan } = await planFromLink(Object.fromEntries(await readFormData(request)))
  return { outcome: await stopMonthlyGift(getDb(), plan.id) }
}

export default function StopMonthlyGift() {
  const { plan, link } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  if ((actionData && 'outcome' in actionData) || plan.stopped) {
    return (
      <div className="container page prose">
        <h1>Your monthly gift has stopped</h1>
        <p role="status">
          No more payments of {plan.amount} will be taken for {plan.appealTitle}. We will send a confirmation by email.
          Thank you for everything you have given.
        </p>
        <p>
          <Link to="/appeals">See our appeals</Link>
        </p>
      </div>
    )
  }
  return (
    <div className="container page prose">
      <h1>Stop your monthly gift</h1>
      <p>
        You give {plan.amount} a month to {plan.appealTitle}. Stopping takes effect straight away; nothing already given is
        refunded.
      </p>
      <Form method="post">
        <RateLimitNotice actionData={actionData} />
        <input type="hidden" name="plan" value={link.plan} />
        <input type="hidden" name="signature" value={link.signature} />
        {link.expires === undefined ? null : <input type="hidden" name="expires" value={link.expires} />}
        <button type="submit" className="button">
          Stop my monthly gift
        </button>
      </Form>
    </div>
  )
}

export function ErrorBoundary() {
  const error = useRouteError()
  const expired = isRouteErrorResponse(error) && error.status === 410
  return (
    <div className="container page prose">
      <h1>{expired ? 'This link has expired' : 'We could not find that monthly gift'}</h1>
      <p>{expired ? EXPIRED_MESSAGE : 'Please use the link in your most recent monthly receipt.'}</p>
      <p>
        <Link to="/appeals">See our appeals</Link>
      </p>
    </div>
  )
}
