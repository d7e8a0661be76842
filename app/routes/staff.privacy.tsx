import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import { getPrivacyNotice, PRIVACY_NOTICE_MAX_LENGTH, saveTrustDetails } from '#app/modules/organisation/privacy-notice.server.ts'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'

/** The notice is what the organisation promises the public: administrators only, every change audited. */
export const handle = { staffRole: 'admin' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'Privacy notice' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const noticeSchema = z.object({
  notice: z
    .string({ required_error: 'Enter the text of the notice, or leave it empty to use the default' })
    .max(PRIVACY_NOTICE_MAX_LENGTH, `The notice must be ${PRIVACY_NOTICE_MAX_LENGTH.toLocaleString('en-GB')} characters or fewer`),
  charityNumber: z
    .string({ required_error: 'Reload the page and try again' })
    .trim()
    .max(40, 'The charity number must be 40 characters or fewer')
    .regex(/^[A-Za-z0-9 ()/-]*$/, 'Use letters, digits, spaces, brackets, hyphens and slashes only, like 1234567 or SC012345'),
  registeredAddress: z.string({ required_error: 'Reload the page and try again' }).trim().max(300, 'The address must be 300 characters or fewer'),
})

type Fields = { notice: string; charityNumber: string; registeredAddress: string }

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const notice = await getPrivacyNotice(getDb())
  return {
    markdown: notice.markdown,
    isDefault: notice.isDefault,
    charityNumber: notice.charityNumber ?? '',
    registeredAddress: notice.registeredAddress ?? '',
    saved: new URL(request.url).searchParams.get('saved') === '1',
  }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const me = await requireStaff(request, handle.staffRole)
  const formData = await readFormData(request)
  const text = (name: string) => {
    const value = formData.get(name)
    return typeof value === 'string' ? value : undefined
  }
  const parsed = noticeSchema.safeParse({ notice: text('notice'), charityNumber: text('charityNumber'), registeredAddress: text('registeredAddress') })
  // What was typed goes back into the form, cut short so a huge post is not sent back whole.
  const typed: Fields = {
    notice: (text('notice') ?? '').slice(0, PRIVACY_NOTICE_MAX_LENGTH * 2),
    charityNumber: (text('charityNumber') ?? '').slice(0, 200),
    registeredAddress: (text('registeredAddress') ?? '').slice(0, 1_000),
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return data({ error: issue?.message ?? 'Check the form and try again', field: String(issue?.path[0] ?? 'notice'), typed }, { status: 400 })
  }
  // Line endings as the browser sends them (CRLF) are stored as LF, so a save without changes changes nothing.
  const saved = await saveTrustDetails(getDb(), me.id, { ...parsed.data, notice: parsed.data.notice.replace(/\r\n/g, '\n') })
  if (!saved) {
    return data(
      { error: 'The organisation is not set up yet: load its details first (npm run db:seed, or the setup steps in the README).', field: 'notice', typed },
      { status: 400 },
    )
  }
  return redirect('/staff/privacy?saved=1', { status: 303, headers: { 'Cache-Control': 'no-store' } })
}

export default function StaffPrivacyNotice() {
  const loaded = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const values: Fields = result?.typed ?? { notice: loaded.markdown, charityNumber: loaded.charityNumber, registeredAddress: loaded.registeredAddress }
  const errorFor = (field: keyof Fields) => (result?.field === field ? result.error : null)
  return (
    <div className="container page">
      <h1>Privacy notice and charity details</h1>
      {loaded.saved && !result ? (
        <p className="lead" role="status">
          Saved. The notice is shown at <Link to="/privacy">/privacy</Link>, the number and address in the footer of every page.
        </p>
      ) : null}
      <p>
        Every public form links to the privacy notice, and every page shows the charity number and registered address in its
        footer. Each change is recorded in the audit log.
      </p>
      <Form method="post" className="stack">
        <TextField name="charityNumber" label="Registered charity number" value={values.charityNumber} error={errorFor('charityNumber')} />
        <TextField name="registeredAddress" label="Registered address (one line)" value={values.registeredAddress} error={errorFor('registeredAddress')} />
        <div className="field">
          <label htmlFor="notice">Text of the privacy notice</label>
          <p className="hint" id="notice-hint">
            In Markdown: # for a heading, - for a list. Leave it empty to go back to the default text
            {loaded.isDefault ? ', which is shown now' : ''}.
          </p>
          {errorFor('notice') ? (
            <p className="field-error" id="notice-error">
              {errorFor('notice')}
            </p>
          ) : null}
          <textarea
            id="notice"
            name="notice"
            rows={24}
            defaultValue={values.notice}
            aria-invalid={errorFor('notice') ? true : undefined}
            aria-describedby={errorFor('notice') ? 'notice-error notice-hint' : 'notice-hint'}
          />
        </div>
        <button type="submit" className="button">
          Save
        </button>
      </Form>
    </div>
  )
}

function TextField({ name, label, value, error }: { name: string; label: string; value: string; error: string | null }) {
  return (
    <div className="field">
      <label htmlFor={name}>{label}</label>
      {error ? (
        <p className="field-error" id={`${name}-error`}>
          {error}
        </p>
      ) : null}
      <input
        id={name}
        name={name}
        type="text"
        defaultValue={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${name}-error` : undefined}
      />
    </div>
  )
}
