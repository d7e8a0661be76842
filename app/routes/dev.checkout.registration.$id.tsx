import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { data, redirect } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { completeOfflineTicketCheckout, getOfflineTicketCheckout } from '#app/modules/payments/offline-checkout.server.ts'
import { isOfflineCheckout } from '#app/modules/payments/stripe.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { formatMoney } from '#app/utils/money.ts'
import { TICKET_CHECKOUT_RETURN_PATH } from '#app/modules/registrations/ticket-checkout.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'

const schema = z.object({ intent: z.enum(['pay', 'decline', 'expire', 'cancel']) })

export const meta: MetaFunction = () => [{ title: 'Offline checkout (development)' }, { name: 'robots', content: 'noindex' }]

async function loadCheckout(id: string | undefined) {
  if (!isOfflineCheckout()) throw new Response('Not found', { status: 404 })
  const registration = await getOfflineTicketCheckout(getDb(), id ?? '')
  if (!registration) throw new Response('Not found', { status: 404 })
  return registration
}

export async function loader({ params }: LoaderFunctionArgs) {
  const registration = await loadCheckout(params.id)
  return {
    registration: {
      eventTitle: registration.event_title,
      tickets: `${registration.quantity} × ${registration.ticket_name}`,
      total: formatMoney(registration.amount_minor, registration.currency),
      payable: registration.status === 'held',
    },
  }
}

export async function action({ request, params }: ActionFunctionArgs) {
  const registration = await loadCheckout(params.id)
  const result = schema.safeParse(Object.fromEntries(await readFormData(request)))
  if (!result.success) return data({ error: 'Choose how to pay.' }, { status: 400 })
  const { intent } = result.data
  if (intent === 'decline') {
    return data({ error: 'Your card was declined. This is the test card for a refusal: nothing was charged.' }, { status: 402 })
  }
  // "Back" goes where Stripe's cancel link goes: the return page, which gives the places back.
  if (intent === 'cancel') return redirect(`${TICKET_CHECKOUT_RETURN_PATH}?checkout=cancelled`, 303)
  if (registration.status === 'held') await completeOfflineTicketCheckout(getDb(), registration, intent)
  // Where Stripe would send the person back: the session's id only (docs/decisions/021).
  const sessionId = registration.stripe_checkout_session_id ?? `cs_offline_registration_${registration.id}`
  return redirect(`${TICKET_CHECKOUT_RETURN_PATH}?session_id=${encodeURIComponent(sessionId)}`, 303)
}

export default function OfflineTicketCheckout() {
  const { registration } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  return (
    <div className="container page prose">
      <p className="notice" role="note">
        Offline checkout for development: no payment provider is configured, so no money moves. Each button sends the
        webhook event Stripe would send, signed, through the real handler.
      </p>
      <h1>Pay {registration.total}</h1>
      <p>
        {registration.tickets} for <strong>{registration.eventTitle}</strong>
      </p>
      {actionData?.error ? (
        <p className="form-error" role="alert">
          {actionData.error}
        </p>
      ) : null}
      {registration.payable ? (
        <Form method="post" className="button-row">
          <button type="submit" name="intent" value="pay" className="button">
            Pay {registration.total}
          </button>
          <button type="submit" name="intent" value="decline" className="button button--secondary">
            Use a card that is declined
          </button>
          <button type="submit" name="intent" value="expire" className="button button--secondary">
            Let the checkout time out
          </button>
          <button type="submit" name="intent" value="cancel" className="button button--secondary">
            Go back without paying
          </button>
        </Form>
      ) : (
        <p>This checkout has already been used, or its hold has ended.</p>
      )}
    </div>
  )
}
