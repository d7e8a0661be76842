import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data, redirect } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { completeOfflineCheckout, getOfflineCheckout } from '#app/modules/payments/offline-checkout.server.ts'
import { isOfflineCheckout } from '#app/modules/payments/stripe.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { absoluteUrl, appOrigin } from '#app/utils/absolute-url.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { checkoutCancelUrl } from '#app/modules/donations/checkout-request.ts'
import { readFormData } from '#app/utils/form-data.server.ts'

const schema = z.object({ intent: z.enum(['pay', 'decline', 'delayed', 'cancel']) })

export const meta: MetaFunction = () => [{ title: 'Offline checkout (development)' }, { name: 'robots', content: 'noindex' }]

async function loadCheckout(id: string | undefined) {
  if (!isOfflineCheckout()) throw new Response('Not found', { status: 404 })
  const donation = await getOfflineCheckout(getDb(), id ?? '')
  if (!donation) throw new Response('Not found', { status: 404 })
  return donation
}

export async function loader({ params }: LoaderFunctionArgs) {
  const donation = await loadCheckout(params.id)
  return {
    donation: {
      appealTitle: donation.appeal_title,
      total: formatMoney(donation.amount_minor + donation.fee_cover_minor, donation.currency),
      monthly: donation.frequency === 'monthly',
      payable: donation.status === 'pending',
    },
  }
}

export async function action({ request, params }: ActionFunctionArgs) {
  const donation = await loadCheckout(params.id)
  const result = schema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!result.success) return data({ error: 'Choose how to pay.' }, { status: 400 })
  const { intent } = result.data
  if (intent === 'cancel') return redirect(checkoutCancelUrl(appOrigin(), donation.appeal_slug), 303)
  if (intent === 'decline') {
    return data({ error: 'Your card was declined. This is the test card for a refusal: nothing was charged.' }, { status: 402 })
  }
  if (donation.status === 'pending') await completeOfflineCheckout(getDb(), donation, intent)
  const sessionId = donation.stripe_checkout_session_id ?? `cs_offline_${donation.id}`
  return redirect(absoluteUrl(`/donate/thank-you?session_id=${encodeURIComponent(sessionId)}`), 303)
}

export default function OfflineCheckout() {
  const { donation } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  return (
    <div className="container page prose">
      <p className="notice" role="note">
        Offline checkout for development: no payment provider is configured, so no money moves. Each button sends the
        webhook event Stripe would send, signed, through the real handler.
      </p>
      <h1>Pay {donation.total}</h1>
      <p>
        {donation.monthly ? 'Monthly gift' : 'Gift'} to <strong>{donation.appealTitle}</strong>
      </p>
      {actionData?.error ? (
        <p className="form-error" role="alert">
          {actionData.error}
        </p>
      ) : null}
      {donation.payable ? (
        <Form method="post" className="button-row">
          <button type="submit" name="intent" value="pay" className="button">
            Pay {donation.total}
          </button>
          <button type="submit" name="intent" value="delayed" className="button button--secondary">
            Pay by bank debit (confirms in a minute)
          </button>
          <button type="submit" name="intent" value="decline" className="button button--secondary">
            Use a card that is declined
          </button>
          <button type="submit" name="intent" value="cancel" className="button button--secondary">
            Go back without paying
          </button>
        </Form>
      ) : (
        <p>This checkout has already been used.</p>
      )}
    </div>
  )
}
