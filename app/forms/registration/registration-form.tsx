import { Form, useNavigation } from '@remix-run/react'
import type { RegistrationFormInput } from './schema.ts'
import {
  ACCESS_NEEDS_HINT,
  ACCESS_NEEDS_MAX_CHARACTERS,
  ticketNeedsPayment,
  type RegistrationTicketType,
} from './fields.ts'
import { formatMoney, minorUnitExponent, parseAmountToMinor } from '#app/utils/money.ts'
import { useDeferredValidation } from '#app/components/deferred-validation.ts'
import { currencySymbol, ErrorSummary, FieldError, text, useHydrated, type SummaryItem, useErrorSummaryFocus } from '#app/components/public-form-parts.tsx'
import {
  inputProps,
  radioProps,
  selectProps,
  textareaProps,
  usePublicForm,
  type FormReply,
} from '#app/components/use-public-form.ts'

export type RegistrationFormTicket = RegistrationTicketType & {
  name: string
  /**
   * "free", "£45.00 a place", "from £3.00 a place, as you choose": read after the ticket's name;
   * null when the name says it alone ("Free place", not "Free place: free").
   */
  priceLabel: string | null
}

type RegistrationFormProps = {
  ticketTypes: RegistrationFormTicket[]
  maxPerOrder: number
  /** No places left: the form stays, and registering joins the waitlist. */
  full: boolean
  submissionId: string
  lastResult?: FormReply | null
}

const FORM_ID = 'registration'

/**
 * The event registration form. Without JavaScript it is a plain POST: the server validates it and
 * renders it again with the values kept and an error beside each field. With JavaScript, the same
 * schema is checked on submit and then as the person types (fetched once they touch the form:
 * deferred-validation.ts), the amount box appears only for a pay-what-you-can ticket, and the
 * button says whether payment comes next. use-public-form.ts holds the form's state: conform
 * stays out of the page's JavaScript.
 */
export function RegistrationForm({ ticketTypes, maxPerOrder, full, submissionId, lastResult }: RegistrationFormProps) {
  const validation = useDeferredValidation(JSON.stringify([ticketTypes, maxPerOrder]), () =>
    import('./registration-validation.ts').then(({ registrationValidator }) =>
      registrationValidator({ ticketTypes, maxPerOrder }),
    ),
  )
  const form = usePublicForm<RegistrationFormInput>({
    id: FORM_ID,
    lastResult,
    defaultValue: { submissionId, ticketTypeId: ticketTypes[0]?.id, quantity: 1 },
    validate: validation.validate,
  })
  const { fields } = form
  const hydrated = useHydrated()
  const navigation = useNavigation()
  const submitting = navigation.state !== 'idle' && navigation.formMethod?.toUpperCase() === 'POST'

  const { summaryRef, afterSubmit } = useErrorSummaryFocus(lastResult)

  const chosenId = text(fields.ticketTypeId.value)
  const chosen = ticketTypes.find((ticket) => ticket.id === chosenId)
  const payWhatYouCanTickets = ticketTypes.filter((ticket) => ticket.kind === 'pay_what_you_can')
  // The amount box describes the chosen pay-what-you-can ticket, or the first one there is.
  const priceTicket = chosen?.kind === 'pay_what_you_can' ? chosen : payWhatYouCanTickets[0]
  const typedPriceMinor =
    priceTicket && text(fields.chosenPrice.value)
      ? parseAmountToMinor(text(fields.chosenPrice.value) ?? '', priceTicket.currency)
      : null
  const showPriceField = !hydrated || chosen?.kind === 'pay_what_you_can'
  const paymentFollows =
    !full &&
    chosen !== undefined &&
    (chosen.kind === 'pay_what_you_can' && hydrated && typedPriceMinor !== null
      ? typedPriceMinor > 0
      : ticketNeedsPayment(chosen))
  const anyPayment = ticketTypes.some(ticketNeedsPayment)

  const ticketRadios = radioProps(
    fields.ticketTypeId,
    ticketTypes.map((ticket) => ticket.id),
  )
  const priceHintId = `${fields.chosenPrice.id}-hint`
  const accessHintId = `${fields.accessNeeds.id}-hint`

  // In the order the fields appear; the link goes to the control to fix (the first of a group).
  const summaryItems: SummaryItem[] = [
    { errors: fields.submissionId.errors, target: null },
    { errors: fields.ticketTypeId.errors, target: ticketRadios[0]?.props.id ?? null },
    { errors: fields.chosenPrice.errors, target: fields.chosenPrice.id },
    { errors: fields.quantity.errors, target: maxPerOrder > 1 ? fields.quantity.id : null },
    { errors: fields.name.errors, target: fields.name.id },
    { errors: fields.email.errors, target: fields.email.id },
    { errors: fields.accessNeeds.errors, target: fields.accessNeeds.id },
    { errors: fields.privacyConsent.errors, target: fields.privacyConsent.id },
  ]
  const formErrors = form.errors ?? []

  return (
    <Form
      method="post"
      {...form.formProps}
      className="registration-form"
      onSubmit={(event) => {
        form.formProps.onSubmit(event)
        afterSubmit(event)
      }}
      onFocus={validation.startLoading}
      onPointerDown={validation.startLoading}
    >
      <ErrorSummary ref={summaryRef} id="registration-error-summary" formErrors={formErrors} items={summaryItems} />

      <input {...inputProps(fields.submissionId, { type: 'hidden' })} />

      {ticketTypes.length > 1 ? (
        <fieldset className="registration-form__group">
          <legend className="registration-form__legend">Choose a ticket</legend>
          <FieldError field={fields.ticketTypeId} />
          <div className="ticket-choices">
            {ticketRadios.map(({ key, props }) => {
              const ticket = ticketTypes.find((type) => type.id === props.value)
              return (
                <div key={key} className="choice choice--ticket">
                  <input {...props} />
                  <label htmlFor={props.id}>
                    <span className="ticket-choice__name">{ticket?.name}</span>
                    {ticket?.priceLabel ? (
                      <>
                        :{' '}
                        <span className="ticket-choice__price">{ticket.priceLabel}</span>
                      </>
                    ) : null}
                  </label>
                </div>
              )
            })}
          </div>
        </fieldset>
      ) : (
        <>
          <FieldError field={fields.ticketTypeId} />
          <input {...inputProps(fields.ticketTypeId, { type: 'hidden' })} />
          {ticketTypes[0] ? (
            <p className="registration-form__ticket">
              <strong>{ticketTypes[0].name}</strong>
              {ticketTypes[0].priceLabel ? `: ${ticketTypes[0].priceLabel}` : null}
            </p>
          ) : null}
        </>
      )}

      {priceTicket ? (
        // Without JavaScript the box is always there; with it, it appears for its ticket only.
        <div className="field registration-form__price" hidden={!showPriceField}>
          <label htmlFor={fields.chosenPrice.id}>
            Your price for each place, in {priceTicket.currency}
            {!hydrated && ticketTypes.length > 1 ? (
              <span className="field__hint-inline"> (only for “{priceTicket.name}”)</span>
            ) : null}
          </label>
          <p className="field__hint" id={priceHintId}>
            {priceHint(priceTicket)}
          </p>
          <FieldError field={fields.chosenPrice} />
          <div className="money-input">
            <span className="money-input__symbol" aria-hidden="true">
              {currencySymbol(priceTicket.currency)}
            </span>
            <input
              {...inputProps(fields.chosenPrice, { type: 'text', ariaDescribedBy: priceHintId })}
              inputMode={minorUnitExponent(priceTicket.currency) === 0 ? 'numeric' : 'decimal'}
              autoComplete="off"
              onInput={() => {
                // Typing a price is choosing that ticket; click() lets the form see the change too.
                const radio = ticketRadios.find(({ props }) => props.value === priceTicket.id)
                const element = radio ? document.getElementById(radio.props.id) : null
                if (element instanceof HTMLInputElement && !element.checked) element.click()
              }}
            />
          </div>
        </div>
      ) : null}

      {maxPerOrder > 1 ? (
        <div className="field field--narrow">
          <label htmlFor={fields.quantity.id}>Number of places</label>
          <FieldError field={fields.quantity} />
          <select {...selectProps(fields.quantity)}>
            {Array.from({ length: maxPerOrder }, (_, index) => String(index + 1)).map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <>
          <FieldError field={fields.quantity} />
          <input {...inputProps(fields.quantity, { type: 'hidden' })} />
        </>
      )}

      <div className="field">
        <label htmlFor={fields.name.id}>Your name</label>
        <FieldError field={fields.name} />
        <input {...inputProps(fields.name, { type: 'text' })} autoComplete="name" required />
      </div>

      <div className="field">
        <label htmlFor={fields.email.id}>
          Your email address <span className="field__hint-inline">(for your confirmation)</span>
        </label>
        <FieldError field={fields.email} />
        <input
          {...inputProps(fields.email, { type: 'email' })}
          autoComplete="email"
          spellCheck={false}
          required
        />
      </div>

      <div className="field">
        <label htmlFor={fields.accessNeeds.id}>
          Access needs <span className="field__hint-inline">(optional)</span>
        </label>
        <p className="field__hint" id={accessHintId}>
          {ACCESS_NEEDS_HINT}. Up to {ACCESS_NEEDS_MAX_CHARACTERS} characters.
        </p>
        <FieldError field={fields.accessNeeds} />
        <textarea {...textareaProps(fields.accessNeeds, { ariaDescribedBy: accessHintId })} rows={3} />
      </div>

      <div className="choice choice--checkbox">
        <FieldError field={fields.privacyConsent} />
        <input {...inputProps(fields.privacyConsent, { type: 'checkbox' })} />
        <label htmlFor={fields.privacyConsent.id}>
          I agree to the <a href="/privacy">privacy notice</a>: you keep my name and email address to hold my place
          and tell me about this event
        </label>
      </div>

      {/* A trap for form-filling robots: hidden from people, screen readers and the tab order. */}
      <div className="visually-hidden" aria-hidden="true">
        <label htmlFor={fields.website.id}>Leave this field empty</label>
        <input
          {...inputProps(fields.website, { type: 'text', ariaAttributes: false })}
          tabIndex={-1}
          autoComplete="off"
        />
      </div>

      <button type="submit" className="button registration-form__submit" disabled={submitting}>
        {submitting ? 'Sending…' : full ? 'Join the waitlist' : paymentFollows ? 'Continue to payment' : 'Register'}
      </button>
      {full ? (
        <p className="field__hint">
          There are no places left. We will email you if one becomes free; nothing is charged to join the waitlist.
        </p>
      ) : anyPayment ? (
        <p className="field__hint">
          For a ticket with a price you pay on a secure page run by Stripe, our card processor. We never see your card
          details.
        </p>
      ) : null}
    </Form>
  )
}

function priceHint(ticket: RegistrationFormTicket) {
  const minimum = ticket.minPriceMinor > 0 ? `At least ${formatMoney(ticket.minPriceMinor, ticket.currency)}` : 'Any amount, including nothing'
  const suggested =
    ticket.priceMinor > ticket.minPriceMinor ? `; we suggest ${formatMoney(ticket.priceMinor, ticket.currency)}` : ''
  return `${minimum}${suggested}. Pay what is right for you.`
}

