import { Form, useNavigation } from '@remix-run/react'
import { type ReactNode } from 'react'
import { coverFeeMinor, donationLimits, feeFormulaFor, type FeeFormula } from '#app/modules/donations/amounts.ts'
import type { DonationFormInput } from './schema.ts'
import { characterCount, chosenAmountMinor, MESSAGE_MAX_CHARACTERS, OTHER_AMOUNT } from './fields.ts'
import { giftAidBonusMinor, giftAidDeclaration } from '#app/modules/donations/gift-aid.ts'
import { formatMoney, formatMoneyShort, isStripeAmount, minorUnitExponent } from '#app/utils/money.ts'
import { useDeferredValidation } from '#app/components/deferred-validation.ts'
import { currencySymbol, ErrorSummary, FieldError, text, useHydrated, type SummaryItem, useErrorSummaryFocus } from '#app/components/public-form-parts.tsx'
import {
  inputProps,
  radioProps,
  textareaProps,
  usePublicForm,
  type FormReply,
  type PublicField,
} from '#app/components/use-public-form.ts'

type DonationFormProps = {
  currency: string
  suggestedAmountsMinor: number[]
  giftAidAvailable: boolean
  organisationName: string
  submissionId: string
  lastResult?: FormReply | null
  /** The `DONATION_MAX_GBP` setting, so the browser checks the same ceiling as the server. */
  maxGbp: number
  /** The fee the checkout adds when the fee is covered (PROCESSING_FEE_* settings). */
  feeFormula: FeeFormula
  /** What this browser typed before it went to the payment page and came back (parse.server.ts). */
  restored?: Partial<Record<keyof DonationFormInput, string>> | null
}

const FORM_ID = 'donation'

/**
 * The donation form. Without JavaScript it is a plain POST: the server validates it and renders
 * it again with the values kept and an error beside each field. With JavaScript, the same schema
 * is checked on submit and then as the person types (fetched once they touch the form:
 * deferred-validation.ts), and the labels that depend on the amount update live.
 * use-public-form.ts holds the form's state: conform stays out of the page's JavaScript.
 */
export function DonationForm({
  currency,
  suggestedAmountsMinor,
  giftAidAvailable,
  organisationName,
  submissionId,
  lastResult,
  maxGbp,
  feeFormula: configuredFeeFormula,
  restored,
}: DonationFormProps) {
  const validation = useDeferredValidation(`${currency} ${giftAidAvailable} ${maxGbp}`, () =>
    import('./donation-validation.ts').then(({ donationValidator }) => donationValidator({ currency, giftAidAvailable, maxGbp })),
  )
  const defaultAmount = suggestedAmountsMinor[1] ?? suggestedAmountsMinor[0]
  const form = usePublicForm<DonationFormInput>({
    id: FORM_ID,
    lastResult,
    defaultValue: {
      submissionId,
      frequency: 'one_off',
      amount: defaultAmount === undefined ? OTHER_AMOUNT : String(defaultAmount),
      ...restored,
    },
    validate: validation.validate,
  })
  const { fields } = form
  const hydrated = useHydrated()
  const navigation = useNavigation()
  const submitting = navigation.state !== 'idle' && navigation.formMethod?.toUpperCase() === 'POST'

  const { summaryRef, afterSubmit } = useErrorSummaryFocus(lastResult)

  // Everything below is derived from the live form value (the server's defaults before hydration).
  const frequency = text(fields.frequency.value) === 'monthly' ? 'monthly' : 'one_off'
  const amountChoice = text(fields.amount.value)
  const otherChosen = amountChoice === OTHER_AMOUNT
  // Without JavaScript the box is always there (a typed amount wins: fields.ts); with it, only
  // for "Other amount", and disabled otherwise so that what it still holds is not sent.
  const customBoxShown = !hydrated || otherChosen
  // The form's values are read as an input happens, before the box is disabled: a suggestion
  // just chosen must not lose to what the box held.
  const typedMinor = chosenAmountMinor(amountChoice, customBoxShown ? text(fields.customAmount.value) : undefined, currency)
  const { minMinor, maxMinor } = donationLimits(currency, maxGbp)
  // Only a gift the form would take is named on the button and in the labels: never "Donate £99,999,999".
  const amountMinor =
    typedMinor !== null && typedMinor >= minMinor && typedMinor <= maxMinor && isStripeAmount(typedMinor, currency) ? typedMinor : null
  const feeMinor = amountMinor === null ? 0 : coverFeeMinor(amountMinor, currency, configuredFeeFormula)
  const coverFee = text(fields.coverFee.value) === 'on'
  const giftAidTicked = text(fields.giftAid.value) === 'on'
  const message = text(fields.message.value) ?? ''
  const name = text(fields.name.value) ?? ''
  const amountText = amountMinor === null ? null : formatMoneyShort(amountMinor, currency)
  // Without JavaScript these could not follow a change of amount, so they leave it out.
  const liveAmountText = hydrated ? amountText : null
  const totalText =
    hydrated && amountMinor !== null ? formatMoneyShort(amountMinor + (coverFee ? feeMinor : 0), currency) : null
  const feeFormula = describeFeeFormula(currency, configuredFeeFormula)

  const amountOptions = [...suggestedAmountsMinor.map(String), OTHER_AMOUNT]
  const amountRadios = radioProps(fields.amount, amountOptions)
  const frequencyRadios = radioProps(fields.frequency, ['one_off', 'monthly'])
  const otherRadioId = amountRadios.at(-1)?.props.id ?? fields.amount.id

  // In the order the fields appear; the link goes to the control to fix (the first of a group).
  const summaryItems: SummaryItem[] = [
    { errors: fields.submissionId.errors, target: null },
    { errors: fields.frequency.errors, target: frequencyRadios[0]?.props.id ?? null },
    { errors: fields.amount.errors, target: amountRadios[0]?.props.id ?? null },
    { errors: fields.customAmount.errors, target: fields.customAmount.id },
    { errors: fields.name.errors, target: fields.name.id },
    { errors: fields.email.errors, target: fields.email.id },
    { errors: fields.message.errors, target: fields.message.id },
    { errors: fields.houseNameOrNumber.errors, target: fields.houseNameOrNumber.id },
    { errors: fields.address.errors, target: fields.address.id },
    { errors: fields.postcode.errors, target: fields.postcode.id },
  ]
  const formErrors = form.errors ?? []

  return (
    <Form
      method="post"
      {...form.formProps}
      className="donation-form"
      onSubmit={(event) => {
        form.formProps.onSubmit(event)
        afterSubmit(event)
      }}
      onFocus={validation.startLoading}
      onPointerDown={validation.startLoading}
    >
      <ErrorSummary ref={summaryRef} id="donation-error-summary" formErrors={formErrors} items={summaryItems} />

      <input {...inputProps(fields.submissionId, { type: 'hidden' })} />

      <fieldset className="donation-form__group">
        <legend className="donation-form__legend">How often would you like to give?</legend>
        <FieldError field={fields.frequency} />
        <div className="choice-row">
          {frequencyRadios.map(({ key, props }) => (
            <div key={key} className="choice choice--pill">
              <input {...props} />
              <label htmlFor={props.id}>{props.value === 'monthly' ? 'Monthly' : 'One-off'}</label>
            </div>
          ))}
        </div>
      </fieldset>

      <fieldset className="donation-form__group">
        <legend className="donation-form__legend">How much would you like to give?</legend>
        <FieldError field={fields.amount} />
        <div className="choice-row">
          {amountRadios.map(({ key, props }) => (
            <div key={key} className="choice choice--pill">
              <input {...props} />
              <label htmlFor={props.id}>
                {props.value === OTHER_AMOUNT ? 'Other amount' : formatMoneyShort(Number(props.value), currency)}
              </label>
            </div>
          ))}
        </div>
        <div className="field donation-form__other" hidden={!customBoxShown}>
          <label htmlFor={fields.customAmount.id}>Your amount, in {currency.toUpperCase()}</label>
          {hydrated ? null : (
            <p className="field__hint" id={`${fields.customAmount.id}-hint`}>
              If you type an amount here, it is the one we take, whichever amount is ticked above.
            </p>
          )}
          <FieldError field={fields.customAmount} />
          <div className="money-input">
            <span className="money-input__symbol" aria-hidden="true">
              {currencySymbol(currency)}
            </span>
            <input
              {...inputProps(fields.customAmount, {
                type: 'text',
                ariaDescribedBy: hydrated ? undefined : `${fields.customAmount.id}-hint`,
              })}
              disabled={!customBoxShown}
              inputMode={minorUnitExponent(currency) === 0 ? 'numeric' : 'decimal'}
              autoComplete="off"
              onInput={() => {
                // Typing an amount is choosing it; click() lets the form see the change too.
                const other = document.getElementById(otherRadioId)
                if (other instanceof HTMLInputElement && !other.checked) other.click()
              }}
            />
          </div>
        </div>
      </fieldset>

      <div className="choice choice--checkbox">
        <input {...inputProps(fields.coverFee, { type: 'checkbox' })} />
        <label htmlFor={fields.coverFee.id}>
          {/* Without JavaScript a figure could not follow the amount chosen, so the rule is given instead. */}
          {hydrated && amountMinor !== null && amountText ? (
            <>
              Cover the processing fee: add <strong>{formatMoney(feeMinor, currency)}</strong> to your gift of {amountText}{' '}
              ({feeFormula}), so {organisationName} receives all of it
            </>
          ) : (
            <>
              Cover the card processing fee of {feeFormula}, so {organisationName} receives all of your gift
            </>
          )}
        </label>
      </div>

      <div className="field">
        <label htmlFor={fields.name.id}>Your name</label>
        <FieldError field={fields.name} />
        <input {...inputProps(fields.name, { type: 'text' })} autoComplete="name" required />
      </div>

      <div className="field">
        <label htmlFor={fields.email.id}>
          Your email address <span className="field__hint-inline">(for your receipt)</span>
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
        <label htmlFor={fields.message.id}>
          A message of support <span className="field__hint-inline">(optional)</span>
        </label>
        <p className="field__hint" id={`${fields.message.id}-hint`}>
          Up to {MESSAGE_MAX_CHARACTERS} characters. It is shown on this page only if you choose below.
        </p>
        <FieldError field={fields.message} />
        <textarea
          {...textareaProps(fields.message, {
            ariaDescribedBy: hydrated ? `${fields.message.id}-hint ${fields.message.id}-count` : `${fields.message.id}-hint`,
          })}
          rows={4}
        />
        {hydrated ? <CharacterCount id={`${fields.message.id}-count`} used={characterCount(message)} /> : null}
      </div>

      <fieldset className="donation-form__group">
        <legend className="donation-form__legend">What others see</legend>
        <p className="field__hint">
          By default we show nothing about you. Tick what you are happy for visitors to this page to see.
        </p>
        <Checkbox field={fields.showName}>Show my name</Checkbox>
        <Checkbox field={fields.showAmount}>Show the amount I give</Checkbox>
        <Checkbox field={fields.showMessage}>Show my message</Checkbox>
      </fieldset>

      <Checkbox field={fields.updatesOptIn}>Email me news about this appeal (you can stop them at any time)</Checkbox>

      {giftAidAvailable ? (
        <fieldset className="donation-form__group gift-aid">
          <legend className="donation-form__legend">Gift Aid</legend>
          <p>
            If you pay UK Income Tax or Capital Gains Tax, Gift Aid adds 25p to every £1 you give, at no cost to you
            {amountMinor !== null && liveAmountText
              ? `: your ${liveAmountText} becomes ${formatMoneyShort(amountMinor + giftAidBonusMinor(amountMinor), currency)}`
              : ''}
            .
          </p>
          <p className="gift-aid__declaration" id="gift-aid-declaration">
            {giftAidDeclaration(
              organisationName,
              liveAmountText ? (frequency === 'monthly' ? `${liveAmountText} each month` : liveAmountText) : undefined,
            )}
          </p>
          {/* One tick is the declaration: the words it agrees to are just above it. */}
          <div className="choice choice--checkbox">
            <input
              {...inputProps(fields.giftAid, { type: 'checkbox', ariaDescribedBy: 'gift-aid-declaration' })}
              aria-controls="gift-aid-details"
              aria-expanded={hydrated ? giftAidTicked : undefined}
            />
            <label htmlFor={fields.giftAid.id}>
              Yes, add Gift Aid: I am a UK taxpayer and I agree to the declaration above
            </label>
          </div>
          {/* Without JavaScript the address is always shown; with it, once the box is ticked. */}
          <div id="gift-aid-details" className="gift-aid__details" hidden={hydrated && !giftAidTicked}>
            <p className="field__hint">
              HMRC needs your home address, and your full name as you gave it above
              {hydrated && name.trim() ? ` (${name.trim()})` : ''}.
            </p>
            <TextField field={fields.houseNameOrNumber} label="House name or number" autoComplete="address-line1" />
            <div className="field">
              <label htmlFor={fields.address.id}>Address</label>
              <FieldError field={fields.address} />
              <textarea {...textareaProps(fields.address)} rows={3} autoComplete="street-address" />
            </div>
            <TextField
              field={fields.postcode}
              label="Postcode"
              autoComplete="postal-code"
              className="field--narrow"
              spellCheck={false}
            />
          </div>
        </fieldset>
      ) : null}

      {/* A trap for form-filling robots: hidden from people, screen readers and the tab order. */}
      <div className="visually-hidden" aria-hidden="true">
        <label htmlFor={fields.website.id}>Leave this field empty</label>
        <input
          {...inputProps(fields.website, { type: 'text', ariaAttributes: false })}
          tabIndex={-1}
          autoComplete="off"
        />
      </div>

      <button type="submit" className="button donation-form__submit" disabled={submitting}>
        {submitting ? 'Taking you to payment…' : submitLabel(frequency, totalText)}
      </button>
      <p className="field__hint">
        You will pay on a secure page run by Stripe, our card processor. We never see your card details.
      </p>
    </Form>
  )
}

function submitLabel(frequency: 'one_off' | 'monthly', totalText: string | null) {
  if (frequency === 'monthly') return totalText ? `Give ${totalText} monthly` : 'Give monthly'
  return totalText ? `Donate ${totalText}` : 'Donate'
}

function Checkbox({ field, children }: { field: PublicField; children: ReactNode }) {
  return (
    <div className="choice choice--checkbox">
      <FieldError field={field} />
      <input {...inputProps(field, { type: 'checkbox' })} />
      <label htmlFor={field.id}>{children}</label>
    </div>
  )
}

function TextField({
  field,
  label,
  autoComplete,
  className,
  spellCheck,
}: {
  field: PublicField
  label: string
  autoComplete: string
  className?: string
  spellCheck?: boolean
}) {
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={field.id}>{label}</label>
      <FieldError field={field} />
      <input {...inputProps(field, { type: 'text' })} autoComplete={autoComplete} spellCheck={spellCheck} />
    </div>
  )
}

function CharacterCount({ id, used }: { id: string; used: number }) {
  const left = MESSAGE_MAX_CHARACTERS - used
  return (
    <p id={id} className={left < 0 ? 'character-count character-count--over' : 'character-count'}>
      {left >= 0
        ? `You have ${left} ${left === 1 ? 'character' : 'characters'} left`
        : `You have ${-left} ${left === -1 ? 'character' : 'characters'} too many`}
    </p>
  )
}

/** "1.5% + 20p", from the settings the checkout charges by. */
function describeFeeFormula(currency: string, formula: FeeFormula) {
  const { percent, fixedMinor } = feeFormulaFor(currency, formula)
  const fixed =
    currency.toUpperCase() === 'GBP' && fixedMinor < 100 ? `${fixedMinor}p` : formatMoney(fixedMinor, currency)
  return `${percent}% + ${fixed}`
}

