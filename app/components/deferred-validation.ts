import { useRef } from 'react'
import type { FieldErrors, Validate } from '#app/components/use-public-form.ts'

/** The form's check once loaded: every error by field name, none when the form is fine. */
export type FormValidator = (formData: FormData) => FieldErrors

/**
 * Browser-side checking for the public forms, fetched when the person first touches the form
 * rather than with the page: zod, the form's schema and conform's parser are about a sixth of an
 * appeal page's JavaScript, and most visitors read without giving. Until the check has arrived, a
 * submit goes to the server, which checks the same schema and answers as it does without JavaScript.
 *
 * `key` names what the check depends on (say, the currency): a client-side navigation to another
 * appeal keeps this component, and must not keep the last appeal's check. Give `startLoading` to
 * the form's onFocus and onPointerDown (focus bubbles in React) and `validate` to usePublicForm.
 */
export function useDeferredValidation(key: string, load: () => Promise<FormValidator>) {
  const loaded = useRef<{ key: string; validator: FormValidator } | null>(null)
  const loading = useRef<string | null>(null)

  function startLoading() {
    if (loading.current === key || loaded.current?.key === key) return
    loading.current = key
    load().then(
      (validator) => {
        if (loading.current === key) loaded.current = { key, validator }
      },
      // A failed fetch (offline, a new deploy) leaves the checking to the server; the next touch tries again.
      () => {
        if (loading.current === key) loading.current = null
      },
    )
  }

  // null is "no verdict here": the submit goes ahead, and errors shown stay.
  const validate: Validate = (formData) => (loaded.current?.key === key ? loaded.current.validator(formData) : null)

  return { startLoading, validate }
}
