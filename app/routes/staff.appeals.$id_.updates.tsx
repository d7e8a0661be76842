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
import { listAppealUpdates, updateFormSchema, postAppealUpdate } from '#app/modules/appeals/appeal-updates.server.ts'
import { TableScroll } from '#app/components/table-scroll.tsx'

// The form's schema is updateFormSchema in appeals/appeal-updates.server.ts: title, Markdown body, "email it".

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Updates: ${data.appeal.title}` : 'Updates' },
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
  if (!appeal) throw notFound()
  const updates = await listAppealUpdates(db, appeal.id)
  const posted = new URL(request.url).searchParams.get('posted')
  return {
    appeal: { id: appeal.id, title: appeal.title, slug: appeal.slug, status: appeal.status },
    updates: updates.map((update) => ({
      id: update.id,
      title: update.title,
      publishedOn: formatDay(update.published_at),
      emailedOn: update.emailed_at ? formatDay(update.emailed_at) : null,
    })),
    notice:
      posted === 'edited'
        ? 'The update is changed on the appeal page. Emails already sent keep what they said.'
        : posted === 'emailing'
        ? 'The update is posted. The emails to supporters who asked for news are being sent.'
        : posted === 'yes'
          ? 'The update is posted.'
          : null,
  }
}

/** Posts the update; emailing happens in a background job (appeals/appeal-updates.server.ts), never twice. */
export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const submission = parseWithZod(await readFormData(request), { schema: updateFormSchema })
  if (submission.status !== 'success') return data(submission.reply(), { status: 400 })
  const outcome = await postAppealUpdate(getDb(), params.id ?? '', submission.value, { staffUserId: staff.id })
  invalidatePublicPages()
  if (outcome.outcome === 'not-found') throw notFound()
  return redirect(`/staff/appeals/${params.id}/updates?posted=${submission.value.email ? 'emailing' : 'yes'}`, 303)
}

export default function AppealUpdates() {
  const { appeal, updates, notice } = useLoaderData<typeof loader>()
  const lastResult = useActionData<typeof action>()
  const [form, fields] = useForm<{ title: string; bodyMarkdown: string; email: string }>({ id: 'appeal-update', lastResult, shouldValidate: 'onSubmit' })
  const { summaryRef, afterSubmit } = useErrorSummaryFocus(lastResult)
  return (
    <div className="container page">
      <p>
        <Link to={`/staff/appeals/${appeal.id}`}>Back to {appeal.title}</Link>
      </p>
      <h1>Updates: {appeal.title}</h1>
      {notice ? (
        <p className="staff-appeal-message" role="status">
          {notice}
        </p>
      ) : null}
      {appeal.status === 'draft' ? <p>This appeal is a draft: its updates show on the public page once it is published.</p> : null}

      <TableScroll label="Posted updates">
        <table className="table staff-totals">
          <caption>Posted updates</caption>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Posted</th>
              <th scope="col">Emailed</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {updates.length === 0 ? (
              <tr>
                <td colSpan={4}>No updates yet.</td>
              </tr>
            ) : null}
            {updates.map((update) => (
              <tr key={update.id}>
                <th scope="row">{update.title}</th>
                <td>{update.publishedOn}</td>
                <td>{update.emailedOn ?? 'No'}</td>
                <td>
                  <Link to={`/staff/appeals/${appeal.id}/updates/${update.id}`}>
                    Edit<span className="visually-hidden"> {update.title}</span>
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>

      <section aria-labelledby="new-update-title" className="staff-appeal-form">
        <h2 id="new-update-title">Post an update</h2>
        <Form
          method="post"
          {...getFormProps(form)}
          onSubmit={(event) => {
            form.onSubmit(event)
            afterSubmit(event)
          }}
        >
          <ErrorSummary
            id="appeal-update-error-summary"
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
              Markdown, as in the story. Emails carry it as plain text, with a link to the appeal page.
            </p>
            <FieldError field={fields.bodyMarkdown} />
            <textarea
              {...withoutKey(getTextareaProps(fields.bodyMarkdown))}
              aria-describedby={[`${fields.bodyMarkdown.id}-hint`, fields.bodyMarkdown.errors?.length ? fields.bodyMarkdown.errorId : null].filter(Boolean).join(' ')}
              rows={10}
            />
          </div>
          <div className="choice choice--checkbox">
            <input {...withoutKey(getInputProps(fields.email, { type: 'checkbox' }))} />
            <label htmlFor={fields.email.id}>Email this update to supporters who asked for updates</label>
          </div>
          <div className="button-row">
            <button type="submit" className="button">
              Post the update
            </button>
          </div>
        </Form>
      </section>
    </div>
  )
}
