import {
  getFormProps,
  getInputProps,
  getSelectProps,
  getTextareaProps,
  useForm,
  type FieldMetadata,
  type SubmissionResult,
} from '@conform-to/react'
import { Form, useNavigation } from '@remix-run/react'
import type { TicketKind } from '#db/schema.ts'
import { SUPPORTED_CURRENCIES } from '#app/utils/money.ts'
import { ErrorSummary, FieldError, useErrorSummaryFocus, withoutKey, type SummaryItem } from '#app/components/form-parts.tsx'
import { PhotoFields } from '#app/components/photo-fields.tsx'

/** The staff form for creating and editing an event (staff.events.new and staff.events.$id_.edit). */

export type StaffEventTicketRow = {
  id?: string
  name?: string
  kind: TicketKind
  price?: string
  minPrice?: string
  currency: string
  remove?: string
}

export type StaffEventFormShape = {
  title: string
  slug: string
  summary: string
  description: string
  startsAt: string
  endsAt: string
  timeZone: string
  mode: string
  venueName: string
  venueAddress: string
  accessNotes: string
  photo: string
  photoAlt: string
  removePhoto: string
  onlineUrl: string
  organiserName: string
  capacity: string
  maxPerOrder: string
  unpaidHoldsPerClient: string
  registrationRateLimit: string
  status: string
  tickets: StaffEventTicketRow[]
}

type Props = {
  defaultValue: Partial<StaffEventFormShape>
  lastResult?: SubmissionResult<string[]> | null
  timeZones: string[]
  submitLabel: string
  /** Ticket ids people have registered with: they cannot be removed nor repriced. */
  lockedTicketIds?: string[]
  /** Shown beside the capacity when editing. */
  placesTaken?: number
  /** UNPAID_HOLDS_PER_CLIENT, said beside the field that overrides it for this event. */
  unpaidHoldsDefault: number
  /** REGISTRATION_RATE_LIMIT, likewise. */
  registrationRateDefault: number
  /** The event's cover photo now, when editing one that has it. */
  cover?: { path: string; alt: string } | null
}

const KIND_NAMES: Record<TicketKind, string> = { free: 'Free', paid: 'Paid', pay_what_you_can: 'Pay what you can' }
const FORM_ID = 'staff-event'

export function StaffEventForm({ defaultValue, lastResult, timeZones, submitLabel, lockedTicketIds = [], placesTaken, unpaidHoldsDefault, registrationRateDefault, cover = null }: Props) {
  const [form, fields] = useForm<StaffEventFormShape>({
    id: FORM_ID,
    lastResult,
    defaultValue,
    // The server is the judge (slugs, places taken, tickets with registrations); the browser only shows its answer.
    shouldValidate: 'onSubmit',
  })
  const { summaryRef, afterSubmit } = useErrorSummaryFocus(lastResult)
  const navigation = useNavigation()
  const submitting = navigation.state !== 'idle' && navigation.formMethod?.toUpperCase() === 'POST'
  const ticketRows = fields.tickets.getFieldList()
  const hint = (field: FieldMetadata<unknown>) => `${field.id}-hint`
  const lastTicket = ticketRows.at(-1)?.getFieldset().currency.value
  const ticketCurrency = typeof lastTicket === 'string' ? lastTicket : 'GBP'
  const currentZone = typeof fields.timeZone.value === 'string' ? fields.timeZone.value : ''
  const zoneChoices = currentZone && !timeZones.includes(currentZone) ? [currentZone, ...timeZones] : timeZones

  const summaryItems: SummaryItem[] = [
    ...[
      fields.title, fields.slug, fields.summary, fields.photo, fields.photoAlt, fields.removePhoto, fields.description, fields.startsAt, fields.endsAt, fields.timeZone,
      fields.mode, fields.venueName, fields.venueAddress, fields.accessNotes, fields.onlineUrl, fields.organiserName,
      fields.capacity, fields.maxPerOrder, fields.unpaidHoldsPerClient, fields.registrationRateLimit, fields.status,
    ].map((field) => ({ errors: field.errors, target: field.id })),
    { errors: fields.tickets.errors, target: null },
    ...ticketRows.flatMap((row) => {
      const ticket = row.getFieldset()
      return [ticket.id, ticket.name, ticket.kind, ticket.price, ticket.minPrice, ticket.currency, ticket.remove].map((field) => ({
        errors: field.errors,
        target: field.id,
      }))
    }),
  ]

  return (
    // Multipart for the cover photo, as the appeal form is for its photo.
    <Form
      method="post"
      encType="multipart/form-data"
      {...getFormProps(form)}
      className="staff-event-form"
      onSubmit={(event) => {
        form.onSubmit(event)
        afterSubmit(event)
      }}
    >
      <ErrorSummary ref={summaryRef} id="staff-event-error-summary" formErrors={form.errors ?? []} items={summaryItems} />

      <fieldset>
        <legend>
          <h2>About the event</h2>
        </legend>
        <TextField field={fields.title} label="Title" />
        <TextField field={fields.slug} label="Slug (the end of the event’s web address)" hint="Letters, digits and hyphens, like rights-night-2027. Changing it breaks links already shared." />
        <TextField field={fields.summary} label="Summary" hint="One line, shown on event cards." />
        <PhotoFields
          noun="cover photo"
          legend="Cover photo"
          className="staff-appeal-form__group"
          current={cover}
          file={fields.photo}
          alt={fields.photoAlt}
          remove={fields.removePhoto}
          altLabel="Describe the cover photo (needed when there is one)"
          altHint="Shown on the event page and its card, and for people who cannot see it, e.g. “The hall set out for a panel talk”."
        />
        <div className="field">
          <label htmlFor={fields.description.id}>Description</label>
          <p className="field__hint" id={hint(fields.description)}>
            Markdown: a blank line between paragraphs, **bold**, [a link](https://example.org).
          </p>
          <FieldError field={fields.description} />
          <textarea {...withoutKey(getTextareaProps(fields.description, { ariaDescribedBy: hint(fields.description) }))} rows={10} />
        </div>
        <TextField field={fields.organiserName} label="Organiser" />
      </fieldset>

      <fieldset>
        <legend>
          <h2>When</h2>
        </legend>
        <p className="field__hint">
          Times are local to the event’s time zone. A time the clocks skip when they go forward is refused; a time that
          happens twice when they go back is taken as the first one, before the clocks change.
        </p>
        <div className="field">
          <label htmlFor={fields.timeZone.id}>Time zone</label>
          <p className="field__hint" id={hint(fields.timeZone)}>
            The place whose clocks the times follow, such as Europe/London.
          </p>
          <FieldError field={fields.timeZone} />
          {/* Every zone this server knows (Intl.supportedValuesOf), and the event's own if it is an older name. */}
          <select {...withoutKey(getSelectProps(fields.timeZone, { ariaDescribedBy: hint(fields.timeZone) }))}>
            {zoneChoices.map((zone) => (
              <option key={zone} value={zone}>
                {zone.replaceAll('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        <TextField field={fields.startsAt} label="Starts" type="datetime-local" />
        <TextField field={fields.endsAt} label="Ends" type="datetime-local" />
      </fieldset>

      <fieldset>
        <legend>
          <h2>Where</h2>
        </legend>
        <div className="field">
          <label htmlFor={fields.mode.id}>How people attend</label>
          <FieldError field={fields.mode} />
          <select {...withoutKey(getSelectProps(fields.mode))}>
            <option value="in_person">In person</option>
            <option value="online">Online</option>
          </select>
        </div>
        <TextField field={fields.venueName} label="Venue name (in person)" />
        <div className="field">
          <label htmlFor={fields.venueAddress.id}>Venue address (in person)</label>
          <FieldError field={fields.venueAddress} />
          <textarea {...withoutKey(getTextareaProps(fields.venueAddress))} rows={3} />
        </div>
        <div className="field">
          <label htmlFor={fields.accessNotes.id}>
            Access notes <span className="field__hint-inline">(optional)</span>
          </label>
          <FieldError field={fields.accessNotes} />
          <textarea {...withoutKey(getTextareaProps(fields.accessNotes))} rows={3} />
        </div>
        <TextField field={fields.onlineUrl} label="Joining link (online)" hint="Sent only to people with a confirmed place." type="url" />
      </fieldset>

      <fieldset>
        <legend>
          <h2>Places</h2>
        </legend>
        <TextField
          field={fields.capacity}
          label="Capacity"
          hint={
            placesTaken === undefined
              ? 'The number of places.'
              : `${placesTaken} places are taken now; the capacity cannot be lower. Raising it offers the new places to the waitlist at once.`
          }
          inputMode="numeric"
        />
        <TextField field={fields.maxPerOrder} label="Most places in one registration" inputMode="numeric" />
        <TextField
          field={fields.unpaidHoldsPerClient}
          label="Unpaid bookings from one connection (optional)"
          hint={`Paid places are held for 30 minutes while people pay. This is how many such bookings one internet connection may have waiting at once; blank means ${unpaidHoldsDefault}. Raise it for a dinner where whole tables book from one Wi-Fi.`}
          inputMode="numeric"
        />
        <TextField
          field={fields.registrationRateLimit}
          label="Registrations from one connection in ten minutes (optional)"
          hint={`How many registrations one internet connection may make for this event in ten minutes; blank means ${registrationRateDefault}, the usual limit, and a number here must be at least that. Raise it when a room registers over one Wi-Fi.`}
          inputMode="numeric"
        />
      </fieldset>

      <fieldset>
        <legend>
          <h2>Tickets</h2>
        </legend>
        <p className="field__hint">
          Prices are in the currency’s main unit (12.50). A pay-what-you-can ticket has a minimum (blank for none) and may
          suggest an amount. Blank rows are ignored; “Add a ticket” adds another row. A ticket people have registered with
          cannot be removed, and its price cannot change.
        </p>
        <FieldError field={fields.tickets} />
        {ticketRows.map((row, index) => {
          const ticket = row.getFieldset()
          const id = typeof ticket.id.value === 'string' ? ticket.id.value : undefined
          const locked = id !== undefined && lockedTicketIds.includes(id)
          return (
            <fieldset key={row.key ?? index} className="staff-event-form__ticket">
              <legend>{id ? `Ticket ${index + 1}${locked ? ' (has registrations)' : ''}` : `New ticket ${index + 1} (optional)`}</legend>
              <input {...withoutKey(getInputProps(ticket.id, { type: 'hidden' }))} />
              <FieldError field={ticket.id} />
              <TextField field={ticket.name} label="Ticket name" />
              <div className="field">
                <label htmlFor={ticket.kind.id}>Kind</label>
                <FieldError field={ticket.kind} />
                <select {...withoutKey(getSelectProps(ticket.kind))}>
                  {(Object.keys(KIND_NAMES) as TicketKind[]).map((kind) => (
                    <option key={kind} value={kind}>
                      {KIND_NAMES[kind]}
                    </option>
                  ))}
                </select>
              </div>
              {/* Hidden by CSS (:has) while the kind is Free, with or without JavaScript. */}
              <div className="staff-event-form__price">
                <TextField field={ticket.price} label="Price (paid) or suggested amount (pay what you can)" inputMode="decimal" />
              </div>
              <div className="staff-event-form__minimum">
                <TextField field={ticket.minPrice} label="Minimum (pay what you can)" inputMode="decimal" />
              </div>
              <div className="field">
                <label htmlFor={ticket.currency.id}>Currency</label>
                <FieldError field={ticket.currency} />
                <select {...withoutKey(getSelectProps(ticket.currency))}>
                  {SUPPORTED_CURRENCIES.map((currency) => (
                    <option key={currency} value={currency}>
                      {currency}
                    </option>
                  ))}
                </select>
              </div>
              {id && !locked ? (
                <div className="choice choice--checkbox">
                  <FieldError field={ticket.remove} />
                  <input {...withoutKey(getInputProps(ticket.remove, { type: 'checkbox' }))} />
                  <label htmlFor={ticket.remove.id}>Remove this ticket</label>
                </div>
              ) : (
                <FieldError field={ticket.remove} />
              )}
            </fieldset>
          )
        })}
        {/* A submit button: without JavaScript the server answers with the form and one more row. */}
        <button
          className="button button--secondary"
          {...form.insert.getButtonProps({ name: fields.tickets.name, defaultValue: { kind: 'free', currency: ticketCurrency } })}
        >
          Add a ticket
        </button>
      </fieldset>

      <fieldset>
        <legend>
          <h2>Publishing</h2>
        </legend>
        <div className="field">
          <label htmlFor={fields.status.id}>Status</label>
          <p className="field__hint" id={hint(fields.status)}>
            A draft is seen only by staff. A published event can go back to draft only while nobody has registered.
          </p>
          <FieldError field={fields.status} />
          <select {...withoutKey(getSelectProps(fields.status, { ariaDescribedBy: hint(fields.status) }))}>
            <option value="draft">Draft</option>
            <option value="published">Published</option>
          </select>
        </div>
      </fieldset>

      <button type="submit" className="button" disabled={submitting}>
        {submitting ? 'Saving…' : submitLabel}
      </button>
    </Form>
  )
}

function TextField(props: {
  field: FieldMetadata<string | undefined> | FieldMetadata<unknown>
  label: string
  hint?: string
  type?: 'text' | 'url' | 'datetime-local'
  inputMode?: 'numeric' | 'decimal'
}) {
  const hintId = `${props.field.id}-hint`
  const field = props.field as FieldMetadata<string | undefined>
  return (
    <div className="field">
      <label htmlFor={field.id}>{props.label}</label>
      {props.hint ? (
        <p className="field__hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      <FieldError field={field as FieldMetadata<unknown>} />
      <input
        {...withoutKey(getInputProps(field, { type: props.type ?? 'text', ...(props.hint ? { ariaDescribedBy: hintId } : {}) }))}
        inputMode={props.inputMode}
      />
    </div>
  )
}
