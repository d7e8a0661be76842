import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react'

// useLayoutEffect does nothing on the server, and React says so in development.
const useBrowserLayoutEffect = typeof document === 'undefined' ? useEffect : useLayoutEffect

/**
 * The state of a public form (donation, registration), without conform in the page's JavaScript:
 * conform's React and DOM packages were a tenth of an appeal page's scripts, for two flat forms.
 * The server still checks with @conform-to/zod and answers with its `submission.reply()`, so
 * this reads that shape; the browser's own check is fetched later (deferred-validation.ts).
 *
 * What it keeps from the conform forms it replaced:
 * - the same ids (`<form>-<name>`, radios `<form>-<name>-<value>`, errors `<id>-error`) and names;
 * - values and errors from the server's reply, rendered on the server too (works without JavaScript);
 * - `aria-invalid` and `aria-describedby` (the error first) on a control whose field has an error;
 * - a submit that fails the browser's check is cancelled and shows every error; after that first
 *   check, typing in a field checks the form again and updates the errors shown;
 * - the live values the labels depend on, read from the form on every input.
 */

/** The server's answer to a refused submit: conform's `SubmissionResult`, as JSON. */
export type FormReply = {
  status?: 'success' | 'error'
  initialValue?: Record<string, unknown> | null
  error?: Record<string, string[] | null | undefined>
  /** Names the submit posted: conform counts them as checked, so typing in them checks again. */
  fields?: string[]
}

/** Field name → its errors; '' holds the errors of the form as a whole. */
export type FieldErrors = Record<string, string[]>

/**
 * The browser's check: the errors, or null for "no verdict yet" (the check has not loaded), in
 * which case the submit goes ahead to the server and the errors shown stay.
 */
export type Validate = (formData: FormData) => FieldErrors | null

type Values = Record<string, string | string[]>

export type PublicField = {
  id: string
  name: string
  formId: string
  errorId: string
  errors: string[] | undefined
  /** What the server rendered: the reply's value, or the default. */
  initialValue: string | string[] | undefined
  /** What the form holds now (the initial value until the first input after hydration). */
  value: string | string[] | undefined
}

type Options<Input> = {
  id: string
  lastResult?: FormReply | null
  defaultValue: { [Name in keyof Input]?: string | number | undefined }
  validate: Validate
}

export function usePublicForm<Input>({ id, lastResult, defaultValue, validate }: Options<Input>) {
  const initialValue = lastResult?.initialValue ? toValues(lastResult.initialValue) : toValues(defaultValue)
  const [values, setValues] = useState<Values>(initialValue)
  const [errors, setErrors] = useState<FieldErrors>(() => (lastResult ? replyErrors(lastResult, {}) : {}))
  // Fields checked once (by a submit, or the server's reply): typing in them checks again.
  const [validated, setValidated] = useState<ReadonlySet<string>>(() => new Set(lastResult ? replyFields(lastResult) : []))
  const formRef = useRef<HTMLFormElement>(null)

  // A new reply (a submit through JavaScript) brings the server's errors.
  const [seenResult, setSeenResult] = useState(lastResult)
  if (lastResult !== seenResult) {
    setSeenResult(lastResult)
    if (lastResult) {
      setErrors((current) => replyErrors(lastResult, current))
      setValidated((current) => new Set([...current, ...replyFields(lastResult)]))
    }
  }

  // Reading the form after each render whose defaults changed catches what the server's HTML
  // could not know: typing before hydration, or another appeal's defaults after a navigation.
  const defaultsKey = JSON.stringify(initialValue)
  useBrowserLayoutEffect(() => {
    if (formRef.current) setValues((current) => sameValues(current, readForm(formRef.current!)))
  }, [defaultsKey])

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    const formData = new FormData(event.currentTarget)
    const result = validate(formData)
    if (result === null) return
    setValidated(new Set([...validated, ...formData.keys(), ...Object.keys(result)]))
    setErrors(result)
    if (Object.keys(result).length > 0) event.preventDefault()
  }

  function onInput(event: FormEvent<HTMLFormElement>) {
    const element = event.target
    const form = event.currentTarget
    if (!isFieldElement(element) || element.form !== form || element.name === '') return
    const formData = new FormData(form)
    setValues(readForm(form, formData))
    if (!validated.has(element.name)) return
    const result = validate(formData)
    if (result === null) return
    // As conform did: a field shows errors only once it has been checked.
    setErrors(Object.fromEntries(Object.entries(result).filter(([name]) => validated.has(name))))
  }

  function field(name: string): PublicField {
    const fieldId = `${id}-${name}`
    return {
      id: fieldId,
      name,
      formId: id,
      errorId: `${fieldId}-error`,
      errors: errors[name],
      initialValue: initialValue[name],
      value: values[name],
    }
  }

  const fields = new Proxy({} as { [Name in keyof Input & string]-?: PublicField }, {
    get: (_target, name) => (typeof name === 'string' ? field(name) : undefined),
  })

  const formErrors = errors['']
  return {
    fields,
    errors: formErrors,
    formProps: {
      id,
      ref: formRef,
      // The server answers every submit; the browser's own bubbles would only differ from it.
      noValidate: true,
      'aria-describedby': formErrors ? `${id}-error` : undefined,
      onSubmit,
      onInput,
    },
  }
}

type AriaOptions = { ariaDescribedBy?: string; ariaAttributes?: boolean }

function controlProps(field: PublicField, options: AriaOptions) {
  const invalid = field.errors !== undefined && options.ariaAttributes !== false
  const describedBy = invalid ? `${field.errorId} ${options.ariaDescribedBy ?? ''}`.trim() : options.ariaDescribedBy
  return {
    id: field.id,
    name: field.name,
    form: field.formId,
    'aria-invalid': invalid ? true : undefined,
    'aria-describedby': options.ariaAttributes === false ? undefined : describedBy,
  }
}

export function inputProps(field: PublicField, options: AriaOptions & { type: 'text' | 'email' | 'hidden' | 'checkbox' }) {
  const initial = field.initialValue
  if (options.type === 'checkbox') {
    return { ...controlProps(field, options), type: options.type, value: 'on', defaultChecked: initial === 'on' }
  }
  return { ...controlProps(field, options), type: options.type, defaultValue: typeof initial === 'string' ? initial : undefined }
}

export function textareaProps(field: PublicField, options: AriaOptions = {}) {
  return { ...controlProps(field, options), defaultValue: field.initialValue?.toString() }
}

export function selectProps(field: PublicField, options: AriaOptions = {}) {
  return { ...controlProps(field, options), defaultValue: field.initialValue?.toString() }
}

/** One radio per option, each with its own id; `key` is separate so it is not spread. */
export function radioProps(field: PublicField, radioOptions: string[]) {
  return radioOptions.map((value) => ({
    key: value,
    props: {
      ...controlProps(field, {}),
      id: `${field.id}-${value}`,
      type: 'radio' as const,
      value,
      defaultChecked: field.initialValue === value,
    },
  }))
}

function toValues(source: Record<string, unknown>): Values {
  const result: Values = {}
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'string') result[name] = value
    else if (typeof value === 'number' || typeof value === 'boolean') result[name] = String(value)
    else if (Array.isArray(value)) result[name] = value.filter((item): item is string => typeof item === 'string')
  }
  return result
}

/** As conform read a form: a name posted twice is a list. */
function readForm(form: HTMLFormElement, formData = new FormData(form)): Values {
  const result: Values = {}
  for (const [name, entry] of formData) {
    if (typeof entry !== 'string') continue
    const previous = result[name]
    result[name] = previous === undefined ? entry : Array.isArray(previous) ? [...previous, entry] : [previous, entry]
  }
  return result
}

function sameValues(current: Values, next: Values): Values {
  return JSON.stringify(current) === JSON.stringify(next) ? current : next
}

function replyErrors(reply: FormReply, current: FieldErrors): FieldErrors {
  const result: FieldErrors = {}
  for (const [name, error] of Object.entries(reply.error ?? {})) {
    // null is conform's "no verdict on this field": what was shown stays.
    const kept = error === null ? current[name] : error
    if (kept && kept.length > 0) result[name] = kept
  }
  return result
}

function replyFields(reply: FormReply): string[] {
  return [...(reply.fields ?? Object.keys(reply.initialValue ?? {})), ...Object.keys(reply.error ?? {})]
}

function isFieldElement(element: EventTarget): element is HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  return (
    element instanceof HTMLInputElement || element instanceof HTMLSelectElement || element instanceof HTMLTextAreaElement
  )
}
