import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { z } from 'zod'
import { MAX_PASSWORD_LENGTH } from '#app/modules/staff/passwords.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { getStaffSession } from '#app/modules/staff/sessions.server.ts'
import { requestSignInLink, safeStaffRedirect, signInWithPassword } from '#app/modules/staff/sign-in.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit } from '#app/utils/rate-limit.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'

export const meta: MetaFunction = () => [{ title: 'Staff sign in' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const headers = new Headers(actionHeaders)
  headers.set('Cache-Control', 'no-store')
  return headers
}

const email = z.string({ required_error: 'Enter your email address' }).trim().min(1, 'Enter your email address').max(320).email('Enter an email address like name@example.org')
const passwordSchema = z.object({
  email,
  password: z.string({ required_error: 'Enter your password' }).min(1, 'Enter your password').max(MAX_PASSWORD_LENGTH, 'That password is too long'),
  redirectTo: z.string().max(2000).optional(),
})
const linkSchema = z.object({ email })

export const GENERIC_SIGN_IN_ERROR = 'That email address and password do not match a staff account.'
export const LINK_SENT_MESSAGE = 'If that address belongs to a staff member, a link is on its way. It works once, for 15 minutes.'

type FieldErrors = Partial<Record<'email' | 'password', string[]>>
type ActionResult = { intent: 'password' | 'link'; fieldErrors?: FieldErrors; formError?: string; message?: string }

export async function loader({ request }: LoaderFunctionArgs) {
  const redirectTo = safeStaffRedirect(new URL(request.url).searchParams.get('redirectTo'))
  if (await getStaffSession(request)) throw redirect(redirectTo, { status: 303, headers: { 'Cache-Control': 'no-store' } })
  return { redirectTo }
}

function waitText(seconds: number) {
  if (seconds < 60) return seconds === 1 ? 'a second' : `${seconds} seconds`
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? 'a minute' : `${minutes} minutes`
}

/** After several wrong passwords for one account from one connection (docs/decisions/020). */
export function slowDownMessage(retryAfterSeconds: number) {
  return `Several wrong passwords have been tried for this account from your connection, so each new try has to wait. Please try again in ${waitText(retryAfterSeconds)}, or use “Email me a sign-in link” below, which works straight away.`
}

function tooMany(intent: ActionResult['intent'], retryAfterSeconds: number, formError?: string) {
  return data<ActionResult>(
    { intent, formError: formError ?? `Too many attempts from your connection. Please wait ${waitText(retryAfterSeconds)} and try again.` },
    { status: 429, headers: { 'Retry-After': String(retryAfterSeconds), 'Cache-Control': 'no-store' } },
  )
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const form = Object.fromEntries(await readFormData(request))
  const db = getDb()

  if (form.intent === 'link') {
    const parsed = linkSchema.safeParse(form)
    if (!parsed.success) {
      return data<ActionResult>({ intent: 'link', fieldErrors: parsed.error.flatten().fieldErrors }, { status: 400 })
    }
    // Per address only: per account, the worker sends at most one email every few minutes.
    const limit = await checkRateLimit('staff-link-ip', clientIpFromRequest(request))
    if (!limit.allowed) return tooMany('link', limit.retryAfterSeconds)
    // The same work for any address: the answer goes before anyone looks the address up.
    await requestSignInLink(db, parsed.data.email)
    return data<ActionResult>({ intent: 'link', message: LINK_SENT_MESSAGE }, { headers: { 'Cache-Control': 'no-store' } })
  }

  const parsed = passwordSchema.safeParse(form)
  if (!parsed.success) {
    return data<ActionResult>({ intent: 'password', fieldErrors: parsed.error.flatten().fieldErrors }, { status: 400 })
  }
  const redirectTo = safeStaffRedirect(parsed.data.redirectTo)
  const result = await signInWithPassword(db, parsed.data.email, parsed.data.password, request, redirectTo)
  if (!result.ok && result.refused) {
    const { reason, retryAfterSeconds } = result.refused
    return tooMany('password', retryAfterSeconds, reason === 'slow-down' ? slowDownMessage(retryAfterSeconds) : undefined)
  }
  if (!result.ok) return data<ActionResult>({ intent: 'password', formError: GENERIC_SIGN_IN_ERROR }, { status: 400 })
  // With a second factor, the password only leads to the code page.
  return redirect(result.needsCode ? '/staff/sign-in/code' : redirectTo, {
    status: 303,
    headers: { 'Set-Cookie': result.setCookie, 'Cache-Control': 'no-store' },
  })
}

export default function StaffSignIn() {
  const { redirectTo } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const navigation = useNavigation()
  const busy = navigation.state === 'submitting'
  const passwordResult = actionData?.intent === 'password' ? actionData : undefined
  const linkResult = actionData?.intent === 'link' ? actionData : undefined
  return (
    <div className="container page staff-sign-in">
      <h1>Staff sign in</h1>

      <section aria-labelledby="password-heading">
        <h2 id="password-heading">With your password</h2>
        {passwordResult?.formError ? (
          <p className="form-error" role="alert">
            {passwordResult.formError}
          </p>
        ) : null}
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="password" />
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <Field name="email" label="Email address" type="email" autoComplete="username" errors={passwordResult?.fieldErrors?.email} />
          <Field
            name="password"
            label="Password"
            type="password"
            autoComplete="current-password"
            errors={passwordResult?.fieldErrors?.password}
          />
          <div className="button-row">
            <button type="submit" className="button" disabled={busy}>
              Sign in
            </button>
          </div>
        </Form>
      </section>

      <section aria-labelledby="link-heading">
        <h2 id="link-heading">Email me a sign-in link</h2>
        {linkResult?.message ? (
          <p className="notice" role="status">
            {linkResult.message}
          </p>
        ) : null}
        {linkResult?.formError ? (
          <p className="form-error" role="alert">
            {linkResult.formError}
          </p>
        ) : null}
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="link" />
          <Field name="email" label="Email address" type="email" autoComplete="username" id="link-email" errors={linkResult?.fieldErrors?.email} />
          <div className="button-row">
            <button type="submit" className="button button--secondary" disabled={busy}>
              Email me a sign-in link
            </button>
          </div>
        </Form>
      </section>
    </div>
  )
}

function Field(props: { name: string; label: string; type: string; autoComplete: string; id?: string; errors?: string[] }) {
  const id = props.id ?? props.name
  const errorId = `${id}-error`
  const error = props.errors?.[0]
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {error ? (
        <p className="form-error" id={errorId}>
          {error}
        </p>
      ) : null}
      <input
        id={id}
        name={props.name}
        type={props.type}
        autoComplete={props.autoComplete}
        required
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
      />
    </div>
  )
}
