import { getFormProps, getInputProps, useForm } from '@conform-to/react'
import { parseWithZod } from '@conform-to/zod'
import {
  data,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useNavigation, type ShouldRevalidateFunction } from '@remix-run/react'
import { z } from 'zod'
import { EventCard } from '#app/components/event-card.tsx'
import { EmailFieldWithHint, ErrorSummary, useErrorSummaryFocus, withoutKey } from '#app/components/form-parts.tsx'
import { getOrCreateSaver, listSavedEvents } from '#app/modules/events/saved-events.server.ts'
import { getSaverSettings, requestSaverLink } from '#app/modules/events/saver-links.server.ts'
import eventStyles from '#app/styles/event.css'
import formStyles from '#app/styles/forms.css'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { rateLimitHeaders } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { readSaverId, saverCookieHeader } from '#app/utils/saver-cookie.server.ts'

const EMAIL_MAX = 254
const keepSavesSchema = z.object({
  email: z
    .string({ required_error: 'Enter your email address so we can send you the link' })
    .trim()
    .max(EMAIL_MAX, `Your email address must be ${EMAIL_MAX} characters or fewer`)
    .email('Enter your email address in the right format, like name@example.com'),
  // conform sends an unticked box as nothing at all, and a ticked one as "on" (a boolean here).
  alertsReminder: z.boolean().optional(),
  alertsFewPlaces: z.boolean().optional(),
})

/** The limits count links asked for from this connection and to this address: the words fit both. */
function rateLimitedMessage(retryAfterSeconds: number) {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60))
  return `We have sent several links already. Please try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}.`
}

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: formStyles },
  { rel: 'stylesheet', href: eventStyles },
]

export const meta: MetaFunction = () => [{ title: 'Saved events' }, { name: 'robots', content: 'noindex' }]

// What one browser saved is nobody else's business: never kept by a cache along the way.
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  const db = getDb()
  const saverId = await readSaverId(request)
  const [saved, settings] = await Promise.all([listSavedEvents(db, saverId, new Date()), getSaverSettings(db, saverId)])
  return { ...saved, settings, justKept: new URL(request.url).searchParams.get('kept') === '1' }
}

/**
 * Sends the link that keeps these saves with an address. Nothing is written to the address's list
 * until the link is opened, and only the browser that opens it joins (saver-links.server.ts).
 */
export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const submission = parseWithZod(await readFormData(request), { schema: keepSavesSchema })
  const headers = new Headers({ 'Cache-Control': 'no-store' })
  if (submission.status !== 'success') return data({ result: submission.reply(), sentTo: null }, { status: 400, headers })
  const db = getDb()
  const { email, alertsReminder, alertsFewPlaces } = submission.value
  const cookieSaverId = await readSaverId(request)
  const outcome = await requestSaverLink(
    db,
    {
      // A browser that saved nothing yet still gets a saver, so the link has something to join;
      // made only once the limits allow the request, so a refused one writes nothing.
      saverId: () => getOrCreateSaver(db, cookieSaverId),
      email,
      alertsReminder: alertsReminder === true,
      alertsFewPlaces: alertsFewPlaces === true,
    },
    clientIpFromRequest(request),
  )
  if (outcome.kind === 'rate-limited') {
    for (const [name, value] of Object.entries(rateLimitHeaders(outcome.retryAfterSeconds))) headers.set(name, value)
    return data(
      { result: submission.reply({ formErrors: [rateLimitedMessage(outcome.retryAfterSeconds)] }), sentTo: null },
      { status: 429, headers },
    )
  }
  headers.set('Set-Cookie', await saverCookieHeader(outcome.saverId))
  return data({ result: submission.reply({ resetForm: true }), sentTo: email }, { headers })
}

/**
 * With JavaScript, an event unsaved here stays on the page (its button reading "Save this event")
 * so that focus is not lost and the person can change their mind; it is gone on the next visit.
 */
export const shouldRevalidate: ShouldRevalidateFunction = ({ formAction, defaultShouldRevalidate }) =>
  formAction === '/events/save' ? false : defaultShouldRevalidate

export default function SavedEventsPage() {
  const { upcoming, past, settings, justKept } = useLoaderData<typeof loader>()
  const nothingSaved = upcoming.length === 0 && past.length === 0
  return (
    <div className="container page">
      <h1>Saved events</h1>
      {justKept ? (
        <p className="notice" role="status">
          Done: this browser now shows the saved events kept for your email address.
        </p>
      ) : null}
      <p className="lead">
        Events you save are kept for this browser only, through a cookie holding an anonymous number. We do not
        ask who you are.
      </p>
      {nothingSaved ? (
        <>
          <p>You have not saved any events yet. Use “Save this event” on any event to keep it here.</p>
          <p>
            <Link to="/events">See our events</Link>
          </p>
        </>
      ) : (
        <>
          <section aria-labelledby="saved-upcoming-title">
            <h2 id="saved-upcoming-title">Upcoming</h2>
            {upcoming.length > 0 ? (
              <div className="card-grid">
                {upcoming.map((event) => (
                  <EventCard key={event.id} event={event} saved />
                ))}
              </div>
            ) : (
              <p>
                None of your saved events is still to come. <Link to="/events">See what is coming up</Link>.
              </p>
            )}
          </section>
          {past.length > 0 ? (
            <section aria-labelledby="saved-past-title" className="section">
              <h2 id="saved-past-title">Past events</h2>
              <div className="card-grid card-grid--muted">
                {past.map((event) => (
                  <EventCard key={event.id} event={event} saved past />
                ))}
              </div>
            </section>
          ) : null}
        </>
      )}
      <KeepSavesForm settings={settings} />
    </div>
  )
}

function KeepSavesForm({ settings }: { settings: { linked: boolean; alertsReminder: boolean; alertsFewPlaces: boolean } | null }) {
  const actionData = useActionData<typeof action>()
  const navigation = useNavigation()
  const submitting = navigation.state !== 'idle' && navigation.formMethod?.toUpperCase() === 'POST' && navigation.formAction === '/saved'
  const [form, fields] = useForm({
    id: 'keep-saves',
    lastResult: actionData?.result,
    shouldValidate: 'onSubmit',
    shouldRevalidate: 'onInput',
    onValidate: ({ formData }) => parseWithZod(formData, { schema: keepSavesSchema }),
  })
  const { summaryRef, afterSubmit } = useErrorSummaryFocus(actionData?.result)
  const alerts = settings?.linked
    ? [settings.alertsReminder ? 'a reminder a day before each saved event' : null, settings.alertsFewPlaces ? 'word when only a few places are left' : null].filter(Boolean)
    : []
  return (
    <section aria-labelledby="keep-saves-title" className="section">
      <h2 id="keep-saves-title">Keep your saved events on other devices</h2>
      {settings?.linked ? (
        <p>
          This browser&apos;s saved events are kept with an email address you confirmed.{' '}
          {alerts.length > 0 ? `We send you ${alerts.join(' and ')}.` : 'We send you no alerts.'}
        </p>
      ) : null}
      <p>
        We will email you a link. Open it in each browser where you want your saved events (on your phone, say, and in
        this one too if you like): those browsers will show one list, kept for your address, and the events saved here
        are added to it. Your address is kept only once you open the link, and you can turn alerts off from any alert.
      </p>
      {actionData?.sentTo ? (
        <p className="notice" role="status">
          We have sent a link to {actionData.sentTo}. It works once, for the next hour.
        </p>
      ) : null}
      <Form
        method="post"
        action="/saved"
        {...getFormProps(form)}
        className="registration-form"
        onSubmit={(event) => {
          form.onSubmit(event)
          afterSubmit(event)
        }}
      >
        <ErrorSummary
          ref={summaryRef}
          id="keep-saves-error-summary"
          formErrors={form.errors ?? []}
          items={[{ errors: fields.email.errors, target: fields.email.id }]}
        />
        <EmailFieldWithHint field={fields.email} label="Your email address" hint="For the link, and the alerts you choose below. Nothing else." />
        <fieldset className="registration-form__group">
          <legend className="registration-form__legend">Alerts (optional)</legend>
          <div className="choice choice--checkbox">
            <input {...withoutKey(getInputProps(fields.alertsReminder, { type: 'checkbox' }))} />
            <label htmlFor={fields.alertsReminder.id}>Remind me a day before each saved event</label>
          </div>
          <div className="choice choice--checkbox">
            <input {...withoutKey(getInputProps(fields.alertsFewPlaces, { type: 'checkbox' }))} />
            <label htmlFor={fields.alertsFewPlaces.id}>Tell me when only a few places are left</label>
          </div>
        </fieldset>
        <button type="submit" className="button" disabled={submitting}>
          {submitting ? 'Sending…' : 'Email me the link'}
        </button>
      </Form>
      <p className="hint">
        How we use your email address: read our <Link to="/privacy">privacy notice</Link>.
      </p>
    </section>
  )
}
