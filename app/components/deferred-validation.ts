import { parse, type Submission } from '@conform-to/react'
import { useRef } from 'react'

export type FormValidator<Output> = (formData: FormData) => Submission<Output, string[]>

/**
 * Browser-side checking for the public forms, fetched when the person first touches the form
 * rather than with the page: zod and the form's schema are about a sixth of an appeal page's
 * JavaScript, and most visitors read without giving. Until the check has arrived, a submit goes
 * to the server, which checks the same schema and answers as it does without JavaScript.
 *
 * `key` names what the check depends on (say, the currency): a client-side navigation to another
 * appeal keeps this component, and must not keep the last appeal's check. Give `startLoading` to
 * the form's onFocus and onPointerDown (focus bubbles in React) and `validate` to conform's onValidate.
 */
export function useDeferredValidation<Output>(key: string, load: () => Promise<FormValidator<Output>>) {
  const loaded = useRef<{ key: string; validator: FormValidator<Output> } | null>(null)
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

  function validate(formData: FormData): Submission<Output, string[]> {
    if (loaded.current?.key === key) return loaded.current.validator(formData)
    // An error of null is conform's "no verdict here": the submit goes ahead, and errors shown stay.
    return parse(formData, { resolve: () => ({ error: null }) }) as Submission<Output, string[]>
  }

  return { startLoading, validate }
}
