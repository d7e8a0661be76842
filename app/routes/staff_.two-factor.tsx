import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { confirmEnrolment, getTwoFactorStatus, regenerateRecoveryCodes, startEnrolment } from '#app/modules/staff/two-factor.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'

/*
 * Two-step sign-in for one's own account (docs/decisions/020). Outside the staff layout
 * (`staff_`): an administrator without a second factor is sent here before anything else, and
 * the layout's loader would send them straight back.
 */

export const handle = { staffRole: 'viewer' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Two-step sign-in' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const actionSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('start') }),
  z.object({ intent: z.literal('confirm'), code: z.string().trim().regex(/^\d{6}$/, 'Enter the 6-digit code your app shows') }),
  z.object({ intent: z.literal('recovery-codes') }),
])

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, handle.staffRole, { allowWithoutSecondFactor: true })
  const status = await getTwoFactorStatus(getDb(), staff.id)
  return {
    required: staff.role === 'admin',
    enabled: status.enabled,
    recoveryCodesLeft: status.recoveryCodesLeft,
    lowRecoveryCodes: new URL(request.url).searchParams.get('recovery') === 'low',
    pending: status.pending ? { secret: status.pending.secret, qrSvg: status.pending.qrSvg } : null,
  }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole, { allowWithoutSecondFactor: true })
  const parsed = actionSchema.safeParse(Object.fromEntries(await readFormData(request)))
  const noStore = { 'Cache-Control': 'no-store' }
  if (!parsed.success) {
    const codeError = parsed.error.issues.find((issue) => issue.path[0] === 'code')
    return data({ codeError: codeError?.message ?? 'Choose one of the buttons on this page' }, { status: 400, headers: noStore })
  }
  const db = getDb()
  if (parsed.data.intent === 'start') {
    await startEnrolment(db, staff.id)
    return redirect('/staff/two-factor', { status: 303, headers: noStore })
  }
  if (parsed.data.intent === 'recovery-codes') {
    const codes = await regenerateRecoveryCodes(db, staff.id)
    if (!codes) return data({ codeError: 'Turn on two-step sign-in first' }, { status: 400, headers: noStore })
    return data({ recoveryCodes: codes }, { headers: noStore })
  }
  const result = await confirmEnrolment(db, staff.id, parsed.data.code)
  if (result.outcome === 'wrong-code') {
    return data({ codeError: 'That code does not match. Check the time on your phone is right, and type the newest code.' }, { status: 400, headers: noStore })
  }
  if (result.outcome === 'no-enrolment') {
    return data({ codeError: 'Setting up took too long. Press “Set up an authenticator app” to start again.' }, { status: 400, headers: noStore })
  }
  // Shown once, in this answer only: never in a URL, never stored in plain text.
  return data({ recoveryCodes: result.recoveryCodes }, { headers: noStore })
}

export default function TwoFactor() {
  const { required, enabled, recoveryCodesLeft, pending, lowRecoveryCodes } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const recoveryCodes = actionData && 'recoveryCodes' in actionData ? actionData.recoveryCodes : null
  const codeError = actionData && 'codeError' in actionData ? actionData.codeError : null

  if (recoveryCodes) {
    return (
      <div className="container page prose">
        <h1>Your recovery codes</h1>
        <p role="status">Two-step sign-in is on. Keep these codes somewhere safe, away from your phone: a password manager or a printed page.</p>
        <p>Each code signs you in once if you lose your phone. They are shown only now; you can make new ones later, which stops these working.</p>
        <ul className="recovery-codes" aria-label="Recovery codes">
          {recoveryCodes.map((code) => (
            <li key={code}>
              <code>{code}</code>
            </li>
          ))}
        </ul>
        <p>
          <Link to="/staff">Go to the staff area</Link>
        </p>
      </div>
    )
  }

  return (
    <div className="container page prose">
      <h1>Two-step sign-in</h1>
      {required && !enabled ? (
        <p role="alert">Administrators must use two-step sign-in. Set it up now to carry on to the staff area.</p>
      ) : null}
      {lowRecoveryCodes ? <p role="alert">You have {recoveryCodesLeft} recovery codes left. Make new ones below.</p> : null}
      {enabled ? (
        <>
          <p>Two-step sign-in is on: after your password or a sign-in link you type a code from your authenticator app.</p>
          <p>Recovery codes left: {recoveryCodesLeft}.</p>
          <Form method="post">
            <input type="hidden" name="intent" value="recovery-codes" />
            <button type="submit" className="button button--secondary">
              Make new recovery codes
            </button>
          </Form>
        </>
      ) : (
        <p>After your password or a sign-in link you will type a 6-digit code from an authenticator app on your phone.</p>
      )}

      {pending ? (
        <section aria-labelledby="set-up-heading">
          <h2 id="set-up-heading">{enabled ? 'Move to a new phone' : 'Set up your authenticator app'}</h2>
          <ol>
            <li>Open an authenticator app (such as Aegis, 2FAS, Google Authenticator or your password manager) and add an account.</li>
            <li>Scan this QR code, or type the key below.</li>
            <li>Type the 6-digit code the app shows.</li>
          </ol>
          {/* Drawn by the server (qrcode's SVG): nothing is loaded from another origin. */}
          <figure className="totp-qr" role="img" aria-label="QR code for your authenticator app" dangerouslySetInnerHTML={{ __html: pending.qrSvg }} />
          <p>
            Key to type instead: <code className="totp-key">{pending.secret.match(/.{1,4}/g)!.join(' ')}</code>
          </p>
          <Form method="post" noValidate>
            <input type="hidden" name="intent" value="confirm" />
            <div className="field">
              <label htmlFor="code">Code from the app</label>
              {codeError ? (
                <p className="form-error" id="code-error" role="alert">
                  {codeError}
                </p>
              ) : null}
              <input
                id="code"
                name="code"
                type="text"
                inputMode="numeric"
                autoComplete="one-time-code"
                required
                aria-invalid={codeError ? true : undefined}
                aria-describedby={codeError ? 'code-error' : undefined}
              />
            </div>
            <div className="button-row">
              <button type="submit" className="button">
                Turn on two-step sign-in
              </button>
            </div>
          </Form>
        </section>
      ) : (
        <>
          {codeError ? (
            <p className="form-error" role="alert">
              {codeError}
            </p>
          ) : null}
          <Form method="post">
            <input type="hidden" name="intent" value="start" />
            <button type="submit" className={enabled ? 'button button--secondary' : 'button'}>
              {enabled ? 'Move to a new phone' : 'Set up an authenticator app'}
            </button>
          </Form>
        </>
      )}
      {required && !enabled ? null : (
        <p>
          <Link to="/staff">Back to the staff area</Link>
        </p>
      )}
    </div>
  )
}
