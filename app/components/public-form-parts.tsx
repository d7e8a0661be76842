import { Link } from '@remix-run/react'
import { forwardRef, useEffect, useRef, useSyncExternalStore, type MouseEvent } from 'react'

/**
 * Pieces the public forms (donation and registration) are built from, with nothing from conform:
 * these are in an appeal or event page's JavaScript. Staff forms take them through form-parts.tsx.
 */

/** A field's first error, where its control's aria-describedby points (conform fields fit too). */
export function FieldError({ field }: { field: { errorId: string; errors?: string[] | undefined } }) {
  const message = field.errors?.[0]
  if (!message) return null
  return (
    <p id={field.errorId} className="field-error">
      <span className="visually-hidden">Error: </span>
      <MessageText message={message} />
    </p>
  )
}

const CONTACT_US = 'contact us'

/**
 * A message as text, with its "contact us" a link to /contact: messages are plain strings (the
 * schemas are shared with the server), and "please contact us" is always a link (issue 13).
 */
function MessageText({ message }: { message: string }) {
  const at = message.lastIndexOf(CONTACT_US)
  if (at === -1) return <>{message}</>
  return (
    <>
      {message.slice(0, at)}
      <Link to="/contact">{CONTACT_US}</Link>
      {message.slice(at + CONTACT_US.length)}
    </>
  )
}

/**
 * A summary item's link to its field, and what follows it: a message that ends by asking to
 * "contact us" keeps that last sentence out of the field's link (a link inside a link is not
 * allowed), so its own "contact us" can be a link to /contact.
 */
function SummaryLink({ message, target }: { message: string; target: string }) {
  const contactAt = message.lastIndexOf(CONTACT_US)
  const sentenceEnd = contactAt === -1 ? -1 : message.lastIndexOf('. ', contactAt)
  const linked = sentenceEnd === -1 ? message : message.slice(0, sentenceEnd + 1)
  return (
    <>
      <a href={`#${target}`} onClick={focusTarget}>
        {linked}
      </a>
      {sentenceEnd === -1 ? null : <MessageText message={message.slice(sentenceEnd + 1)} />}
    </>
  )
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** An error summary link moves focus to its field, not only the scroll position. */
export function focusTarget(event: MouseEvent<HTMLAnchorElement>) {
  const id = event.currentTarget.hash.slice(1)
  const target = document.getElementById(id)
  if (!target) return
  event.preventDefault()
  target.focus()
  target.scrollIntoView({ block: 'center' })
}

export function currencySymbol(currency: string) {
  const parts = new Intl.NumberFormat('en-GB', { style: 'currency', currency }).formatToParts(0)
  return parts.find((part) => part.type === 'currency')?.value ?? currency
}

const subscribeToNothing = () => () => {}

/** False on the server and during hydration, true once React runs in the browser. */
export function useHydrated() {
  return useSyncExternalStore(
    subscribeToNothing,
    () => true,
    () => false,
  )
}

export type SummaryItem = { errors: string[] | undefined; target: string | null }

/**
 * "There is a problem": the form's own errors, then each field's first error as a link to the
 * control to fix, in the order the fields appear. Renders nothing when all is well.
 */
export const ErrorSummary = forwardRef<HTMLDivElement, { id: string; formErrors: string[]; items: SummaryItem[] }>(
  function ErrorSummary({ id, formErrors, items }, ref) {
    const fieldErrors = items.flatMap(({ errors, target }) => (errors?.[0] ? [{ message: errors[0], target }] : []))
    if (formErrors.length === 0 && fieldErrors.length === 0) return null
    return (
      <div className="error-summary" ref={ref} tabIndex={-1} aria-labelledby={`${id}-title`}>
        <h3 id={`${id}-title`} className="error-summary__title">
          There is a problem
        </h3>
        {formErrors.map((error) => (
          <p key={error}>
            <MessageText message={error} />
          </p>
        ))}
        {fieldErrors.length > 0 ? (
          <ul className="error-summary__list">
            {fieldErrors.map((error) => (
              <li key={`${error.target}-${error.message}`}>
                {error.target ? <SummaryLink message={error.message} target={error.target} /> : <MessageText message={error.message} />}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    )
  },
)

/**
 * After a failed submit the error summary takes focus, once it has rendered: a server reply
 * (conform's or use-public-form.ts's) shows its errors a render later than it arrives, and a
 * browser-side failure renders the summary only on the next render. Pass `summaryRef` to
 * ErrorSummary and call `afterSubmit` from the form's onSubmit, after the form's own handler.
 */
export function useErrorSummaryFocus(lastResult: { status?: string } | null | undefined) {
  const summaryRef = useRef<HTMLDivElement>(null)
  const focusPending = useRef(false)
  useEffect(() => {
    if (lastResult?.status === 'error') focusPending.current = true
  }, [lastResult])
  useEffect(() => {
    if (focusPending.current && summaryRef.current) {
      focusPending.current = false
      summaryRef.current.focus()
    }
  })
  function afterSubmit(event: { defaultPrevented: boolean }) {
    // The form's handler (conform's, or use-public-form.ts's) cancels a submit that fails the check.
    if (!event.defaultPrevented) return
    if (summaryRef.current) summaryRef.current.focus()
    else focusPending.current = true
  }
  return { summaryRef, afterSubmit }
}
