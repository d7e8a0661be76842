import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import {
  getPrivacyNotice,
  PRIVACY_NOTICE_MAX_LENGTH,
  savePrivacyNotice,
} from '#app/modules/organisation/privacy-notice.server.ts'
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
})

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const notice = await getPrivacyNotice(getDb())
  return { markdown: notice.markdown, isDefault: notice.isDefault, saved: new URL(request.url).searchParams.get('saved') === '1' }
}

export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const me = await requireStaff(request, handle.staffRole)
  const formData = await readFormData(request)
  const parsed = noticeSchema.safeParse({ notice: formData.get('notice') ?? undefined })
  if (!parsed.success) {
    return data({ error: parsed.error.issues[0]?.message ?? 'Check the text and try again', notice: String(formData.get('notice') ?? '').slice(0, PRIVACY_NOTICE_MAX_LENGTH * 2) }, { status: 400 })
  }
  // Line endings as the browser sends them (CRLF) are stored as LF, so a save without changes changes nothing.
  const saved = await savePrivacyNotice(getDb(), me.id, parsed.data.notice.replace(/\r\n/g, '\n'))
  if (!saved) return data({ error: 'The organisation is not set up yet: load its details first (npm run seed, or the setup steps in the README).', notice: parsed.data.notice }, { status: 400 })
  return redirect('/staff/privacy?saved=1', { status: 303, headers: { 'Cache-Control': 'no-store' } })
}

export default function StaffPrivacyNotice() {
  const { markdown, isDefault, saved } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  return (
    <div className="container page">
      <h1>Privacy notice</h1>
      {saved && !result ? (
        <p className="lead" role="status">
          The notice is saved and shown at <Link to="/privacy">/privacy</Link>.
        </p>
      ) : null}
      <p>
        Every public form links to this notice. Write it in Markdown (# for a heading, - for a list). Leave it empty to go
        back to the default text{isDefault ? ', which is shown now' : ''}. Each change is recorded in the audit log.
      </p>
      <Form method="post" className="stack">
        <div className="field">
          <label htmlFor="notice">Text of the notice</label>
          {result?.error ? (
            <p className="field-error" id="notice-error">
              {result.error}
            </p>
          ) : null}
          <textarea
            id="notice"
            name="notice"
            rows={24}
            defaultValue={result?.notice ?? markdown}
            aria-invalid={result?.error ? true : undefined}
            aria-describedby={result?.error ? 'notice-error' : undefined}
          />
        </div>
        <button type="submit" className="button">
          Save the notice
        </button>
      </Form>
    </div>
  )
}
