import { type FieldMetadata } from '@conform-to/react'
import { useSyncExternalStore, type MouseEvent } from 'react'

/** Pieces both public forms (donation and registration) are built from. */

export function FieldError({ field }: { field: FieldMetadata<unknown> }) {
  const message = field.errors?.[0]
  if (!message) return null
  return (
    <p id={field.errorId} className="field-error">
      <span className="visually-hidden">Error: </span>
      {message}
    </p>
  )
}

/** React warns when `key` arrives inside spread props, so conform's key is set apart. */
export function withoutKey<Props extends { key?: string }>({ key: _key, ...props }: Props): Omit<Props, 'key'> {
  return props
}

/** The browser's own validation skips the honeypot: only the server judges it. */
export function withoutHoneypot(formData: FormData) {
  const copy = new FormData()
  for (const [name, value] of formData) if (name !== 'website') copy.append(name, value)
  return copy
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
