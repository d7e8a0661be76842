import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react'
import { z } from 'zod'
import type { AppealStatus } from '#db/schema.ts'
import { StaffAppealForm, type AppealFormResult } from '#app/components/staff-appeal-form.tsx'
import { requireStaff, type StaffRole } from '#app/modules/staff/sessions.server.ts'
import { formatDay } from '#app/utils/dates.ts'
import { getDb } from '#app/utils/db.server.ts'
import { appOrigin } from '#app/utils/absolute-url.server.ts'
import { renderMarkdown } from '#app/utils/markdown.server.ts'
import { SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { assertSameOrigin } from '#app/utils/same-origin.server.ts'
import { invalidatePublicPages } from '#app/utils/page-cache.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { getStaffAppeal, changeAppealStatus, updateAppeal } from '#app/modules/appeals/appeal-admin.server.ts'
import { majorUnitsText, suggestedAmountsText, closingDay, readAppealSubmission } from '#app/modules/appeals/appeal-form.server.ts'
import { isMultipart, UploadRefused } from '#app/modules/appeals/photos/upload.server.ts'

// The edit form's schema is appealFormSchema in appeals/appeal-form.server.ts (shared with the new page).
const statusSchema = z.object({ intent: z.enum(['publish', 'close', 'reopen']) })

export const handle = { staffRole: 'staff' } as const satisfies { staffRole: StaffRole }

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `Edit appeal: ${data.appeal.title}` : 'Edit appeal' },
  { name: 'robots', content: 'noindex' },
]
export const headers: HeadersFunction = () => ({ 'Cache-Control': 'no-store' })

const NOTICES: Record<string, string> = {
  created: 'The draft is saved. Publish it when it is ready.',
  edited: 'Your changes are saved.',
  publish: 'The appeal is published: the public page is open for gifts.',
  close: 'The appeal is closed: the public page stays up but takes no more gifts.',
  reopen: 'The appeal is open again.',
}

function notFound() {
  return new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireStaff(request, handle.staffRole)
  const appeal = await getStaffAppeal(getDb(), params.id)
  if (!appeal) throw notFound()
  const now = new Date()
  const currency = appeal.currency.trim()
  return {
    appeal: {
      id: appeal.id,
      slug: appeal.slug,
      title: appeal.title,
      status: appeal.status,
      publishedOn: appeal.published_at ? formatDay(appeal.published_at) : null,
      closedOn: appeal.closed_at ? formatDay(appeal.closed_at) : null,
      closingDatePassed: appeal.closes_at !== null && appeal.closes_at <= now,
      hasDonations: appeal.hasDonations,
      photo: appeal.photo_path ? { path: appeal.photo_path, alt: appeal.photo_alt ?? '' } : null,
      version: appeal.updated_at.getTime(),
    },
    defaultValue: {
      title: appeal.title,
      slug: appeal.slug,
      summary: appeal.summary,
      beneficiaryName: appeal.beneficiary_name,
      beneficiaryIsPseudonym: appeal.beneficiary_is_pseudonym ? 'on' : undefined,
      photoAlt: appeal.photo_alt ?? undefined,
      storyMarkdown: appeal.story_markdown,
      currency,
      goal: majorUnitsText(appeal.goal_minor, currency),
      suggestedAmounts: suggestedAmountsText(appeal.suggested_amounts_minor, currency),
      closesOn: appeal.closes_at ? closingDay(appeal.closes_at) : undefined,
    },
    currencies: SUPPORTED_CURRENCIES,
    notice: NOTICES[new URL(request.url).searchParams.get('saved') ?? ''] ?? null,
  }
}

type ActionData =
  | { kind: 'form'; result: AppealFormResult; previewHtml: string | null }
  | { kind: 'status'; error: string }

/** Two kinds of post: the multipart edit form (save or preview), and the status buttons. */
export async function action({ request, params }: ActionFunctionArgs) {
  assertSameOrigin(request)
  const staff = await requireStaff(request, handle.staffRole)
  const db = getDb()
  const appealId = params.id ?? ''

  if (!isMultipart(request)) {
    const parsed = statusSchema.safeParse(Object.fromEntries(await readFormData(request)))
    if (!parsed.success) return data({ kind: 'status', error: 'Choose publish, close or reopen.' } satisfies ActionData, { status: 400 })
    const outcome = await changeAppealStatus(db, appealId, parsed.data.intent, { staffUserId: staff.id })
    invalidatePublicPages()
    if (outcome.outcome === 'not-found') throw notFound()
    if (outcome.outcome === 'refused') return data({ kind: 'status', error: outcome.message } satisfies ActionData, { status: 400 })
    return redirect(`/staff/appeals/${appealId}?saved=${parsed.data.intent}`, 303)
  }

  const form = await readAppealSubmission(request).catch((error: unknown) => {
    if (error instanceof UploadRefused) throw new Response('This is not the appeal form', { status: 400, headers: { 'Cache-Control': 'no-store' } })
    throw error
  })
  if (form.intent === 'preview') {
    const reply = form.submission.reply()
    const previewHtml = renderMarkdown(form.story, { origin: appOrigin() })
    return { kind: 'form', result: { initialValue: reply.initialValue }, previewHtml } satisfies ActionData
  }
  if (form.submission.status !== 'success' || form.photo.error) {
    const reply = form.photo.error ? form.submission.reply({ fieldErrors: { photo: [form.photo.error] } }) : form.submission.reply()
    return data({ kind: 'form', result: reply, previewHtml: null } satisfies ActionData, { status: 400 })
  }
  const outcome = await updateAppeal(db, appealId, form.submission.value, { staffUserId: staff.id, photo: form.photo.photo })
  invalidatePublicPages()
  if (outcome.outcome === 'not-found') throw notFound()
  if (outcome.outcome === 'invalid') {
    return data({ kind: 'form', result: form.submission.reply({ fieldErrors: outcome.fieldErrors }), previewHtml: null } satisfies ActionData, { status: 400 })
  }
  return redirect(`/staff/appeals/${appealId}?saved=edited`, 303)
}

const STATUS_TEXT: Record<AppealStatus, string> = { draft: 'Draft: not public yet', published: 'Open', closed: 'Closed' }

export default function EditAppeal() {
  const { appeal, defaultValue, currencies, notice } = useLoaderData<typeof loader>()
  const actionData = useActionData<typeof action>()
  const formResult = actionData?.kind === 'form' ? actionData : null
  return (
    <div className="container page">
      <p>
        <Link to="/staff/appeals">All appeals</Link>
      </p>
      <h1>{appeal.title}</h1>
      {notice ? (
        <p className="staff-appeal-message" role="status">
          {notice}
        </p>
      ) : null}
      <section aria-labelledby="status-title">
        <h2 id="status-title">Status: {STATUS_TEXT[appeal.status]}</h2>
        <p>
          {appeal.publishedOn ? `Published ${appeal.publishedOn}. ` : null}
          {appeal.closedOn && appeal.status === 'closed' ? `Closed ${appeal.closedOn}. ` : null}
          {appeal.status === 'draft' ? null : <Link to={`/appeals/${appeal.slug}`}>Public page</Link>}
          {' · '}
          <Link to={`/staff/appeals/${appeal.id}/updates`}>Updates</Link>
        </p>
        {actionData?.kind === 'status' ? (
          <p className="staff-appeal-message staff-appeal-message--error" role="alert">
            {actionData.error}
          </p>
        ) : null}
        <div className="staff-appeal-status">
          {appeal.status === 'draft' ? (
            <StatusButton intent="publish" label="Publish the appeal" />
          ) : appeal.status === 'published' ? (
            <StatusButton intent="close" label="Close the appeal" />
          ) : appeal.closingDatePassed ? (
            <p>The closing date has passed: set a later one below to reopen the appeal.</p>
          ) : (
            <StatusButton intent="reopen" label="Reopen the appeal" />
          )}
        </div>
      </section>

      <section aria-labelledby="edit-title">
        <h2 id="edit-title">Edit</h2>
        <StaffAppealForm
          key={appeal.version}
          id={`appeal-${appeal.version}`}
          lastResult={formResult?.result as AppealFormResult | undefined}
          defaultValue={defaultValue}
          currencies={currencies}
          currencyLocked={appeal.hasDonations}
          photo={appeal.photo}
          previewHtml={formResult?.previewHtml ?? null}
          submitLabel="Save changes"
        />
      </section>
    </div>
  )
}

function StatusButton({ intent, label }: { intent: 'publish' | 'close' | 'reopen'; label: string }) {
  return (
    <Form method="post">
      <button type="submit" name="intent" value={intent} className={intent === 'close' ? 'button button--secondary' : 'button'}>
        {label}
      </button>
    </Form>
  )
}
