import { getFormProps, getInputProps, useForm, type SubmissionResult } from '@conform-to/react'
import { parseWithZod } from '@conform-to/zod'
import {
  data,
  redirect,
  type ActionFunctionArgs,
  type HeadersFunction,
  type LinksFunction,
  type LoaderFunctionArgs,
  type MetaFunction,
} from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { EmailFieldWithHint, ErrorSummary, useErrorSummaryFocus, withoutKey } from '#app/components/form-parts.tsx'
import { confirmSaverLink, previewSaverLink } from '#app/modules/events/saver-links.server.ts'
import formStyles from '#app/styles/forms.css'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimitHeaders, rateLimitMessage } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { readSaverId, saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import { LINK_PURPOSE, verifySignature } from '#app/utils/signed-links.server.ts'

/*
 * Named `saved_.verify` rather than `saved.verify`: in Remix's flat routes the latter would be a
 * child of the saved events page, rendered only inside its (absent) <Outlet/>.
 */

const linkSchema = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/),
  signature: z.string().min(10).max(200),
})

const EMAIL_MAX = 254
/** What the person confirming types: the check that the link reached its own address's owner. */
const confirmSchema = z.object({
  email: z
    .string({ required_error: 'Type the email address this link was sent to' })
    .trim()
    .min(1, 'Type the email address this link was sent to')
    .max(EMAIL_MAX, `The email address must be ${EMAIL_MAX} characters or fewer`),
  // conform sends an unticked box as nothing at all, and a ticked one as "on" (a boolean here).
  addOwnSaves: z.boolean().optional(),
})

export const WRONG_ADDRESS_MESSAGE = 'That is not the address this link was sent to. If you did not ask for this link, close this page.'
export const INVALID_LINK_MESSAGE = 'This link has expired or has already been used. You can ask for a new one on your saved events page.'

// The token must not leak to another site through the Referer of a later request. `same-origin`,
// not `no-referrer`: with `no-referrer` the browser posts the page's one form with `Origin: null`,
// which our cross-site check refuses, so the link could never be confirmed (as on staff sign-in).
export const links: LinksFunction = () => [{ rel: 'stylesheet', href: formStyles }]

export const meta: MetaFunction = () => [
  { title: 'Keep your saved events' },
  { name: 'robots', content: 'noindex' },
  { name: 'referrer', content: 'same-origin' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'same-origin' })

function parseLink(values: Record<string, unknown>) {
  const parsed = linkSchema.safeParse(values)
  if (!parsed.success || !verifySignature(LINK_PURPOSE.saverLink, parsed.data.token, parsed.data.signature)) return null
  return parsed.data
}

/**
 * Only shows what confirming will do, and a form: mail scanners and link previews follow links
 * with GET, and must neither spend the link nor join their own "browser" to someone's saves.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  const link = parseLink(Object.fromEntries(new URL(request.url).searchParams))
  const preview = link ? await previewSaverLink(getDb(), link.token, await readSaverId(request)) : null
  return { link: preview ? link : null, preview }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const formData = await readFormData(request)
  const headers = { 'Cache-Control': 'no-store' }
  const link = parseLink({ token: formData.get('token'), signature: formData.get('signature') })
  if (!link) return data({ error: INVALID_LINK_MESSAGE, result: null }, { status: 400, headers })
  const submission = parseWithZod(formData, { schema: confirmSchema })
  if (submission.status !== 'success') return data({ error: null, result: submission.reply() }, { status: 400, headers })
  const limit = await checkRateLimit('saver-link-confirm', clientIpFromRequest(request))
  if (!limit.allowed) {
    return data(
      { error: null, result: submission.reply({ formErrors: [rateLimitMessage(limit.retryAfterSeconds)] }) },
      { status: 429, headers: { ...headers, ...rateLimitHeaders(limit.retryAfterSeconds) } },
    )
  }
  const { email, addOwnSaves } = submission.value
  const result = await confirmSaverLink(getDb(), link.token, await readSaverId(request), {
    typedEmail: email,
    addOwnSaves: addOwnSaves === true,
  })
  if (!result.ok && result.reason === 'wrong-address') {
    return data({ error: null, result: submission.reply({ fieldErrors: { email: [WRONG_ADDRESS_MESSAGE] } }) }, { status: 400, headers })
  }
  // Used, out of date, or spent by too many wrong addresses: the link is gone, whatever was typed.
  if (!result.ok) return data({ error: INVALID_LINK_MESSAGE, result: null }, { status: 410, headers })
  return redirect('/saved?kept=1', { status: 303, headers: { ...headers, 'Set-Cookie': await saverCookieHeader(result.saverId) } })
}

export default function VerifySaverLink() {
  const { link, preview } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  if (!link || !preview || actionData?.error) {
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
  return <ConfirmForm link={link} preview={preview} lastResult={actionData?.result} />
}

function savedEvents(count: number) {
  return count === 1 ? '1 saved event' : `${count} saved events`
}

function ConfirmForm({
  link,
  preview,
  lastResult,
}: {
  link: { token: string; signature: string }
  preview: { maskedEmail: string; addedCount: number; askedHere: boolean; ownCount: number }
  lastResult: SubmissionResult<string[]> | null | undefined
}) {
  const { maskedEmail, addedCount, askedHere, ownCount } = preview
  const [form, fields] = useForm({
    id: 'confirm-saver-link',
    lastResult,
    shouldValidate: 'onSubmit',
    shouldRevalidate: 'onInput',
    onValidate: ({ formData }) => parseWithZod(formData, { schema: confirmSchema }),
  })
  const { summaryRef, afterSubmit } = useErrorSummaryFocus(lastResult)
  const ownHintId = `${fields.addOwnSaves.id}-hint`
  const ownEvents = ownCount === 1 ? 'the 1 event' : `the ${ownCount} events`
  return (
    <div className="container page prose">
      <h1>Keep your saved events on this device</h1>
      <p>
        This link is for the saved events kept for the email address{' '}
        <strong>
          {maskedEmail}
          <span className="visually-hidden"> (some letters hidden)</span>
        </strong>
        .
      </p>
      <p>
        <strong>
          Confirming links this browser to that address&apos;s saved events: anyone who can open links sent to that
          address will see what you save here.
        </strong>
      </p>
      {askedHere ? (
        <ul>
          <li>
            This is the browser where the link was asked for.{' '}
            {addedCount === 0 ? 'It adds no new saved events to the list' : `Its ${savedEvents(addedCount)} will be added to the list`}, and it
            will show that list from now on.
          </li>
        </ul>
      ) : (
        <ul>
          <li>
            {addedCount === 0 ? 'No saved events' : savedEvents(addedCount)} from the browser where the link was asked for will be added to the
            list.
          </li>
          <li>This browser will show that list from now on.</li>
          <li>The browser where the link was asked for is not linked: it will not see the list unless a link is opened there too.</li>
        </ul>
      )}
      <p>If you did not ask for this link, close this page: nothing happens unless you confirm.</p>
      <Form
        method="post"
        {...getFormProps(form)}
        className="registration-form"
        onSubmit={(event) => {
          form.onSubmit(event)
          afterSubmit(event)
        }}
      >
        <input type="hidden" name="token" value={link.token} />
        <input type="hidden" name="signature" value={link.signature} />
        <ErrorSummary
          ref={summaryRef}
          id="confirm-saver-link-error-summary"
          formErrors={form.errors ?? []}
          items={[{ errors: fields.email.errors, target: fields.email.id }]}
        />
        <EmailFieldWithHint field={fields.email} label="Type the email address this link was sent to" hint="The whole address, to show that this link reached you and was not passed on by someone else." />
        {ownCount > 0 ? (
          <div className="choice choice--checkbox">
            <input {...withoutKey(getInputProps(fields.addOwnSaves, { type: 'checkbox', ariaDescribedBy: ownHintId }))} />
            <label htmlFor={fields.addOwnSaves.id}>Also add {ownEvents} already saved in this browser</label>
            <p className="field__hint" id={ownHintId}>
              Left unticked, they are not added to that address&apos;s list, and this browser will no longer show them.
            </p>
          </div>
        ) : null}
        <button type="submit" className="button">
          Link this browser to these saved events
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
