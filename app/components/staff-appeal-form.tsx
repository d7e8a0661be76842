import { getFormProps, getInputProps, getSelectProps, getTextareaProps, useForm, type FieldMetadata, type SubmissionResult } from '@conform-to/react'
import { Form, useNavigation } from '@remix-run/react'
import type { ReactNode } from 'react'
import { ErrorSummary, FieldError, useErrorSummaryFocus, withoutKey } from '#app/components/form-parts.tsx'
import { PhotoFields } from '#app/components/photo-fields.tsx'

/**
 * The staff form for an appeal, for both "new" and "edit". It is a plain multipart POST: the
 * server validates it and renders it again with the values kept and an error beside each field.
 * "Preview" posts the same form and comes back with the story rendered beside it, no JavaScript
 * needed. A chosen photo is not kept by Preview (browsers never refill a file input).
 */

export type AppealFormValues = {
  title: string
  slug: string
  summary: string
  beneficiaryName: string
  beneficiaryIsPseudonym: string
  photoAlt: string
  removePhoto: string
  storyMarkdown: string
  currency: string
  goal: string
  suggestedAmounts: string
  closesOn: string
  photo: string
}

export type AppealFormResult = SubmissionResult<string[]>

type Props = {
  id: string
  lastResult: AppealFormResult | null | undefined
  defaultValue: Partial<AppealFormValues>
  currencies: readonly string[]
  currencyLocked: boolean
  photo: { path: string; alt: string } | null
  previewHtml: string | null
  submitLabel: string
}

const FIELD_ORDER: (keyof AppealFormValues)[] = [
  'title', 'slug', 'summary', 'beneficiaryName', 'beneficiaryIsPseudonym', 'photo', 'photoAlt', 'storyMarkdown',
  'currency', 'goal', 'suggestedAmounts', 'closesOn',
]

export function StaffAppealForm(props: Props) {
  const [form, fields] = useForm<AppealFormValues>({
    id: props.id,
    lastResult: props.lastResult,
    defaultValue: props.defaultValue,
    shouldValidate: 'onSubmit',
  })
  const navigation = useNavigation()
  const busy = navigation.state !== 'idle' && navigation.formMethod?.toUpperCase() === 'POST'
  const { summaryRef, afterSubmit } = useErrorSummaryFocus(props.lastResult)
  const hint = (field: FieldMetadata<unknown>) => `${field.id}-hint`
  const describedBy = (field: FieldMetadata<unknown>, withHint = false) =>
    [withHint ? hint(field) : null, field.errors?.length ? field.errorId : null].filter(Boolean).join(' ') || undefined

  return (
    <div className={props.previewHtml !== null ? 'staff-appeal-form staff-appeal-form--preview' : 'staff-appeal-form'}>
      <Form
        method="post"
        encType="multipart/form-data"
        {...getFormProps(form)}
        onSubmit={(event) => {
          form.onSubmit(event)
          afterSubmit(event)
        }}
      >
        <ErrorSummary
          id={`${props.id}-error-summary`}
          ref={summaryRef}
          formErrors={form.errors ?? []}
          items={FIELD_ORDER.map((name) => ({ errors: fields[name].errors, target: fields[name].id }))}
        />
        <TextField field={fields.title} label="Title" />
        <TextField
          field={fields.slug}
          label="Web address (slug)"
          hint="Lower-case letters, digits and hyphens, like help-yusuf-walk. The page will be at /appeals/ followed by this."
          describedBy={describedBy(fields.slug, true)}
          spellCheck={false}
        />
        <div className="field">
          <label htmlFor={fields.summary.id}>Summary</label>
          <p className="field__hint" id={hint(fields.summary)}>
            One or two sentences, shown on appeal cards and when the page is shared.
          </p>
          <FieldError field={fields.summary} />
          <textarea {...withoutKey(getTextareaProps(fields.summary))} aria-describedby={describedBy(fields.summary, true)} rows={3} />
        </div>
        <TextField field={fields.beneficiaryName} label="Name to show for the person the appeal is for" />
        <Checkbox field={fields.beneficiaryIsPseudonym}>This is a pseudonym (the page says so)</Checkbox>

        <PhotoFields
          noun="photo"
          legend="Photo"
          className="staff-appeal-form__group"
          current={props.photo}
          file={fields.photo}
          alt={fields.photoAlt}
          remove={fields.removePhoto}
          altLabel="Describe the photo (needed when there is a photo)"
          altHint="For people who cannot see it, e.g. “Yusuf smiling in his garden”."
        />

        <div className="field">
          <label htmlFor={fields.storyMarkdown.id}>Story</label>
          <p className="field__hint" id={hint(fields.storyMarkdown)}>
            Markdown: blank lines between paragraphs, **bold**, *italic*, [link text](https://…), # for headings. Images from
            other websites are shown as links.
          </p>
          <FieldError field={fields.storyMarkdown} />
          <textarea
            {...withoutKey(getTextareaProps(fields.storyMarkdown))}
            aria-describedby={describedBy(fields.storyMarkdown, true)}
            rows={16}
          />
        </div>

        <div className="field field--narrow">
          <label htmlFor={fields.currency.id}>Currency</label>
          {props.currencyLocked ? (
            <p className="field__hint" id={hint(fields.currency)}>
              This appeal has donations, so its currency cannot change.
            </p>
          ) : null}
          <FieldError field={fields.currency} />
          <select {...withoutKey(getSelectProps(fields.currency))} aria-describedby={describedBy(fields.currency, props.currencyLocked)}>
            {props.currencies.map((code) => (
              <option key={code} value={code}>
                {code}
              </option>
            ))}
          </select>
        </div>
        <TextField
          field={fields.goal}
          label="Goal"
          hint="In the currency’s main unit, like 1,500.00 (pounds) or 150,000 (yen)."
          describedBy={describedBy(fields.goal, true)}
          inputMode="decimal"
          className="field--narrow"
        />
        <TextField
          field={fields.suggestedAmounts}
          label="Suggested amounts (optional)"
          hint="Separated by commas, like 10, 25, 50. Do not put commas inside an amount."
          describedBy={describedBy(fields.suggestedAmounts, true)}
        />
        <div className="field field--narrow">
          <label htmlFor={fields.closesOn.id}>Closing date (optional)</label>
          <p className="field__hint" id={hint(fields.closesOn)}>
            The appeal closes at the end of this day, UK time. Format: YYYY-MM-DD.
          </p>
          <FieldError field={fields.closesOn} />
          <input {...withoutKey(getInputProps(fields.closesOn, { type: 'date' }))} aria-describedby={describedBy(fields.closesOn, true)} />
        </div>

        <div className="button-row">
          <button type="submit" className="button" name="intent" value="save" disabled={busy}>
            {props.submitLabel}
          </button>
          <button type="submit" className="button button--secondary" name="intent" value="preview" formNoValidate disabled={busy}>
            Preview the story
          </button>
        </div>
      </Form>
      {props.previewHtml !== null ? (
        <section className="staff-appeal-form__preview" aria-labelledby={`${props.id}-preview-title`}>
          <h2 id={`${props.id}-preview-title`}>Preview of the story</h2>
          {/* Rendered by markdown.server.ts: raw HTML escaped, unsafe links dropped. */}
          <div className="prose" dangerouslySetInnerHTML={{ __html: props.previewHtml }} />
        </section>
      ) : null}
    </div>
  )
}

function TextField(props: {
  field: FieldMetadata<unknown>
  label: string
  hint?: string
  describedBy?: string
  spellCheck?: boolean
  inputMode?: 'decimal'
  className?: string
}) {
  const { field } = props
  return (
    <div className={props.className ? `field ${props.className}` : 'field'}>
      <label htmlFor={field.id}>{props.label}</label>
      {props.hint ? (
        <p className="field__hint" id={`${field.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <FieldError field={field} />
      <input
        {...withoutKey(getInputProps(field, { type: 'text' }))}
        aria-describedby={props.describedBy ?? (field.errors?.length ? field.errorId : undefined)}
        spellCheck={props.spellCheck}
        inputMode={props.inputMode}
      />
    </div>
  )
}

function Checkbox({ field, children }: { field: FieldMetadata<unknown>; children: ReactNode }) {
  return (
    <div className="choice choice--checkbox">
      <FieldError field={field} />
      <input {...withoutKey(getInputProps(field, { type: 'checkbox' }))} />
      <label htmlFor={field.id}>{children}</label>
    </div>
  )
}
