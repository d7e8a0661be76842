/**
 * The form pieces the staff forms (and /saved) import: the public ones, which are conform-free
 * because they load with appeal and event pages (public-form-parts.tsx), and what only conform
 * forms need.
 */
import { getInputProps, type FieldMetadata } from '@conform-to/react'
import type { ReactNode } from 'react'
import { FieldError } from '#app/components/public-form-parts.tsx'

export * from '#app/components/public-form-parts.tsx'

/** React warns when `key` arrives inside spread props, so conform's key is set apart. */
export function withoutKey<Props extends { key?: string }>({ key: _key, ...props }: Props): Omit<Props, 'key'> {
  return props
}

/** An email field with a hint under its label (the hint is read with the field, after any error). */
export function EmailFieldWithHint({ field, label, hint }: { field: FieldMetadata<string>; label: string; hint: ReactNode }) {
  const hintId = `${field.id}-hint`
  return (
    <div className="field">
      <label htmlFor={field.id}>{label}</label>
      <p className="field__hint" id={hintId}>
        {hint}
      </p>
      <FieldError field={field} />
      <input {...withoutKey(getInputProps(field, { type: 'email', ariaDescribedBy: hintId }))} autoComplete="email" spellCheck={false} required />
    </div>
  )
}
