import { getFormProps, getInputProps, getTextareaProps, useForm } from '@conform-to/react'
import { parseWithZod } from '@conform-to/zod'
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { ErrorSummary, FieldError, useErrorSummaryFocus, withoutKey } from '#app/components/form-parts.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { formatDay } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { invalidatePublicPages } from '#app/utils/page-cache.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { getStaffAppeal } from '#app/modules/appeals/appeal-admin.server.ts'
import { editAppealUpdate, editUpdateFormSchema, getAppealUpdate } from '#app/modules/appeals/appeal-updates.server.ts'

/** Correcting a posted appeal update: its title and words (appeals/appeal-updates.server.ts). */

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Edit update: ${data.update.title}` : 'Edit update' },
  { name: 'robots', content: 'noindex' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

function notFound() {
  return new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const db = getDb()
  const appeal = await getStaffAppeal(db, params.id)
  const update = appeal ? await getAppealUpdate(db, appeal.id, params.updateId ?? '') : undefined
  if (!appeal || !update) throw notFound()
  return {
    appeal: { id: appeal.id, title: appeal.title },
    update: {
      id: update.id,
      title: update.title,
      bodyMarkdown: update.body_markdown,
      publishedOn: formatDay(update.published_at),
      emailedOn: update.emailed_at ? formatDay(update.emailed_at) : null,
    },
  }
}

export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const submission = parseWithZod(await readFormData(request), { schema: editUpdateFormSchema })
  if (submission.status !== 'success') return data(submission.reply(), { status: 400 })
  const outcome = await editAppealUpdate(getDb(), params.id ?? '', params.updateId ?? '', submission.value, { staffUserId: staff.id })
  if (outcome.outcome === 'not-found') throw notFound()
  invalidatePublicPages()
  return redirect(`/staff/appeals/${params.id}/updates?posted=edited`, 303)
}

export default function EditAppealUpdate() {
  const { appeal, update } = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  const [form, fields] = useForm<{ title: string; bodyMarkdown: string }>({
    id: 'appeal-update-edit',
    lastResult,
    defaultValue: { title: update.title, bodyMarkdown: update.bodyMarkdown },
    shouldValidate: 'onSubmit',
  })
  const { summaryRef, afterSubmit } = useErrorSummaryFocus(lastResult)
  return (
    <div className="container page">
      <p>
        <Link to={`/staff/appeals/${appeal.id}/updates`}>Back to the updates on {appeal.title}</Link>
      </p>
      <h1>Edit update: {update.title}</h1>
      <p>
        Posted {update.publishedOn}.{' '}
        {update.emailedOn
          ? `Emailed ${update.emailedOn}: the emails already sent keep what they said; the appeal page shows the change.`
          : 'The appeal page shows the change at once.'}
      </p>
      <section className="staff-appeal-form" aria-label="Edit the update">
        <Form
          method="post"
          {...getFormProps(form)}
          onSubmit={(event) => {
            form.onSubmit(event)
            afterSubmit(event)
          }}
        >
          <ErrorSummary
            id="appeal-update-edit-error-summary"
            ref={summaryRef}
            formErrors={form.errors ?? []}
            items={[
              { errors: fields.title.errors, target: fields.title.id },
              { errors: fields.bodyMarkdown.errors, target: fields.bodyMarkdown.id },
            ]}
          />
          <div className="field">
            <label htmlFor={fields.title.id}>Title</label>
            <FieldError field={fields.title} />
            <input {...withoutKey(getInputProps(fields.title, { type: 'text' }))} />
          </div>
          <div className="field">
            <label htmlFor={fields.bodyMarkdown.id}>The update</label>
            <p className="field__hint" id={`${fields.bodyMarkdown.id}-hint`}>
              Markdown, as in the story.
            </p>
            <FieldError field={fields.bodyMarkdown} />
            <textarea
              {...withoutKey(getTextareaProps(fields.bodyMarkdown))}
              aria-describedby={[`${fields.bodyMarkdown.id}-hint`, fields.bodyMarkdown.errors?.length ? fields.bodyMarkdown.errorId : null].filter(Boolean).join(' ')}
              rows={10}
            />
          </div>
          <div className="button-row">
            <button type="submit" className="button">
              Save the change
            </button>
          </div>
        </Form>
      </section>
    </div>
  )
}
