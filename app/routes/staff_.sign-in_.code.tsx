import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { RateLimitNotice } from '#app/components/rate-limit-notice.tsx'
import { clearChallengeCookie, readChallengeToken } from '#app/modules/staff/sessions.server.ts'
import { completeSecondFactor, hasOpenChallenge } from '#app/modules/staff/sign-in.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { checkRateLimit, rateLimitedReply, refundRateLimit } from '#app/utils/rate-limit.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'

/*
 * The second step of signing in (docs/decisions/020): after a right password or a sign-in link, a
 * member with a second factor types the code from their authenticator app, or a recovery code.
 * Named `staff_.sign-in_.code` so it is a page of its own, not a child of the sign-in page.
 */

export const meta: MetaFunction = () => [{ title: 'Enter your code' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const headers = new Headers(actionHeaders)
  headers.set('Cache-Control', 'no-store')
  return headers
}

export const WRONG_CODE_MESSAGE = 'That code did not work. Check the time on your phone is right, and type the newest code.'
export const START_AGAIN_MESSAGE = 'This sign-in has timed out or had too many wrong codes. Please sign in again.'

const codeSchema = z.object({
  code: z
    .string({ required_error: 'Enter the 6-digit code from your app, or a recovery code' })
    .trim()
    .min(1, 'Enter the 6-digit code from your app, or a recovery code')
    .max(64, 'That code is too long'),
})

export async function loader({ request }: LoaderFunctionArgs) {
  return { open: await hasOpenChallenge(getDb(), readChallengeToken(request)) }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const form = await readFormData(request)
  const parsed = codeSchema.safeParse({ code: form.get('code') ?? undefined })
  if (!parsed.success) return data({ fieldError: parsed.error.issues[0]!.message }, { status: 400, headers: { 'Cache-Control': 'no-store' } })
  // Only wrong codes count against the address: a right one gives its point back.
  const clientIp = clientIpFromRequest(request)
  const limit = await checkRateLimit('staff-code-ip', clientIp)
  if (!limit.allowed) return rateLimitedReply(limit.retryAfterSeconds)
  const result = await completeSecondFactor(getDb(), readChallengeToken(request), parsed.data.code, request)
  if (result.outcome === 'wrong-code') {
    const left = result.attemptsLeft === 1 ? 'one more try' : `${result.attemptsLeft} more tries`
    return data({ fieldError: `${WRONG_CODE_MESSAGE} You have ${left}.` }, { status: 400, headers: { 'Cache-Control': 'no-store' } })
  }
  if (result.outcome === 'start-again') {
    return data({ startAgain: START_AGAIN_MESSAGE }, { status: 400, headers: { 'Set-Cookie': clearChallengeCookie(), 'Cache-Control': 'no-store' } })
  }
  await refundRateLimit('staff-code-ip', clientIp)
  const headers = new Headers({ 'Cache-Control': 'no-store' })
  headers.append('Set-Cookie', result.setCookie)
  headers.append('Set-Cookie', clearChallengeCookie())
  // Down to the last few recovery codes: the account page says how to make new ones.
  const target = result.recoveryCodesLeft !== undefined && result.recoveryCodesLeft <= 3 ? '/staff/two-factor?recovery=low' : result.redirectTo
  return redirect(target, { status: 303, headers })
}

export default function SignInCode() {
  const { open } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const startAgain = actionData && 'startAgain' in actionData ? actionData.startAgain : !open ? START_AGAIN_MESSAGE : null
  if (startAgain) {
    return (
      <div className="container page prose">
        <h1>Sign in again</h1>
        <p role="alert">{startAgain}</p>
        <p>
          <Link to="/staff/sign-in">Back to sign in</Link>
        </p>
      </div>
    )
  }
  const fieldError = actionData && 'fieldError' in actionData ? actionData.fieldError : null
  return (
    <div className="container page staff-sign-in">
      <h1>Enter your code</h1>
      <p>Open the authenticator app on your phone and type the 6-digit code it shows for Sanad.</p>
      <Form method="post" noValidate>
        <RateLimitNotice actionData={actionData} />
        <div className="field">
          <label htmlFor="code">Code</label>
          {fieldError ? (
            <p className="form-error" id="code-error" role="alert">
              {fieldError}
            </p>
          ) : null}
          <input
            id="code"
            name="code"
            type="text"
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            required
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={fieldError ? 'code-error code-hint' : 'code-hint'}
          />
          <p className="hint" id="code-hint">
            No phone? Type one of your recovery codes here instead; each works once.
          </p>
        </div>
        <div className="button-row">
          <button type="submit" className="button">
            Sign in
          </button>
        </div>
      </Form>
      <p>
        Lost your phone and your recovery codes? Ask another administrator to reset your two-step sign-in.
      </p>
    </div>
  )
}
