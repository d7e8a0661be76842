import type { HeadersFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData, useRevalidator } from '@remix-run/react'
import { useEffect } from 'react'
import { getGiftBySession } from '#app/modules/donations/thank-you.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'

export const meta: MetaFunction = () => [{ title: 'Thank you' }, { name: 'robots', content: 'noindex' }]

export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  const sessionId = new URL(request.url).searchParams.get('session_id') ?? ''
  const gift = await getGiftBySession(getDb(), sessionId)
  if (!gift) throw new Response('Not found', { status: 404 })
  return {
    gift: {
      status: gift.status,
      monthly: gift.frequency === 'monthly',
      amount: formatMoney(gift.amount_minor + gift.fee_cover_minor, gift.currency),
      appealTitle: gift.title,
      appealSlug: gift.slug,
    },
  }
}

const WAITING = new Set(['pending', 'processing'])

export default function ThankYou() {
  const { gift } = useLoaderData<typeof loader>()
  const revalidator = useRevalidator()
  const waiting = WAITING.has(gift.status)
  useEffect(() => {
    if (!waiting) return
    const timer = setInterval(() => {
      if (revalidator.state === 'idle') revalidator.revalidate()
    }, 3_000)
    return () => clearInterval(timer)
  }, [waiting, revalidator])

  return (
    <div className="container page prose">
      {/* Without JavaScript, the page refreshes itself while the payment is being confirmed. */}
      {waiting ? <meta httpEquiv="refresh" content="5" /> : null}
      {gift.status === 'confirmed' ? (
        <>
          <h1>Thank you</h1>
          <p className="lead" role="status">
            Your {gift.monthly ? 'monthly gift' : 'gift'} of {gift.amount} to {gift.appealTitle} has been received. A
            receipt is on its way to your inbox.
          </p>
        </>
      ) : waiting ? (
        <>
          <h1>Thank you: we are confirming your payment</h1>
          <p className="lead" role="status" aria-live="polite">
            Your {gift.monthly ? 'monthly gift' : 'gift'} of {gift.amount} is being processed. This page updates by itself,
            and we will email your receipt as soon as the payment is confirmed.
          </p>
        </>
      ) : (
        <>
          <h1>Your payment did not go through</h1>
          <p className="lead" role="status">
            Nothing was taken. You can try again from the appeal page.
          </p>
        </>
      )}
      <p>
        <Link to={`/appeals/${gift.appealSlug}`}>Back to {gift.appealTitle}</Link>
      </p>
    </div>
  )
}

export function ErrorBoundary() {
  return (
    <div className="container page prose">
      <h1>We could not find that gift</h1>
      <p>
        If you have just given, your receipt will arrive by email. <Link to="/appeals">See all appeals</Link>
      </p>
    </div>
  )
}
