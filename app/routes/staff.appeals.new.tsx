import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Link, useActionData, useLoaderData } from '@remix-run/react'
import { StaffAppealForm, type AppealFormResult } from '#app/components/staff-appeal-form.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { appOrigin } from '#app/utils/absolute-url.server.ts'
import { renderMarkdown } from '#app/utils/markdown.server.ts'
import { SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { createAppeal } from '#app/modules/appeals/appeal-admin.server.ts'
import { readAppealSubmission } from '#app/modules/appeals/appeal-form.server.ts'
import { UploadRefused } from '#app/modules/appeals/photos/upload.server.ts'

// The form's schema is appealFormSchema in appeals/appeal-form.server.ts, shared with the edit page.

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction = () => [{ title: 'New appeal' }, { name: 'robots', content: 'noindex' }]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  return { currencies: SUPPORTED_CURRENCIES }
}

type ActionData = { result: AppealFormResult; previewHtml: string | null }

/** Save creates a draft and goes to its edit page; Preview renders the story beside the form. */
export async function action({ request }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const form = await readAppealSubmission(request).catch((error: unknown) => {
    if (error instanceof UploadRefused) throw new Response('This is not the appeal form', { status: 400, headers: { 'Cache-Control': 'no-store' } })
    throw error
  })
  if (form.intent === 'preview') {
    const reply = form.submission.reply()
    return { result: { initialValue: reply.initialValue }, previewHtml: renderMarkdown(form.story, { origin: appOrigin() }) } satisfies ActionData
  }
  if (form.submission.status !== 'success' || form.photo.error) {
    const reply = form.photo.error ? form.submission.reply({ fieldErrors: { photo: [form.photo.error] } }) : form.submission.reply()
    return data({ result: reply, previewHtml: null } satisfies ActionData, { status: 400 })
  }
  const outcome = await createAppeal(getDb(), form.submission.value, { staffUserId: staff.id, photo: form.photo.photo })
  if (outcome.outcome !== 'saved') {
    const fieldErrors = outcome.outcome === 'invalid' ? outcome.fieldErrors : {}
    return data({ result: form.submission.reply({ fieldErrors }), previewHtml: null } satisfies ActionData, { status: 400 })
  }
  return redirect(`/staff/appeals/${outcome.id}?saved=created`, 303)
}

export default function NewAppeal() {
  const { currencies } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  return (
    <div className="container page">
      <p>
        <Link to="/staff/appeals">All appeals</Link>
      </p>
      <h1>New appeal</h1>
      <p>The appeal is saved as a draft: nobody outside the staff sees it until you publish it.</p>
      <StaffAppealForm
        id="appeal"
        lastResult={actionData?.result as AppealFormResult | undefined}
        defaultValue={{ currency: 'GBP' }}
        currencies={currencies}
        currencyLocked={false}
        photo={null}
        previewHtml={actionData?.previewHtml ?? null}
        submitLabel="Save the draft"
      />
    </div>
  )
}
