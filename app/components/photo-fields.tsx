import { getInputProps, type FieldMetadata } from '@conform-to/react'
import { FieldError, withoutKey } from '#app/components/form-parts.tsx'

/**
 * The photo part of a staff form: the photo there is now (with a box to remove it), the file
 * input and its description. The appeal form's photo and the event form's cover use it; both are
 * checked and stored by app/modules/appeals/photos (the same limits, the same re-encoding).
 */
export function PhotoFields(props: {
  /** "photo" or "cover photo": how the labels name it. */
  noun: string
  legend: string
  current: { path: string; alt: string } | null
  file: FieldMetadata<unknown>
  alt: FieldMetadata<unknown>
  remove: FieldMetadata<unknown>
  altLabel: string
  altHint: string
  className: string
}) {
  const { file, alt, remove, noun } = props
  const describedBy = (field: FieldMetadata<unknown>) => [`${field.id}-hint`, field.errors?.length ? field.errorId : null].filter(Boolean).join(' ')
  return (
    <fieldset className={props.className}>
      <legend>{props.legend}</legend>
      {props.current ? (
        <div className="staff-appeal-form__photo">
          <img src={props.current.path} alt={props.current.alt} width={320} height={180} />
          <div className="choice choice--checkbox">
            <FieldError field={remove} />
            <input {...withoutKey(getInputProps(remove, { type: 'checkbox' }))} />
            <label htmlFor={remove.id}>Remove this {noun}</label>
          </div>
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={file.id}>
          {props.current ? `Replace the ${noun}` : `Choose a ${noun}`} (optional)
        </label>
        <p className="field__hint" id={`${file.id}-hint`}>
          JPEG, PNG or WebP, 5 MB at most. A picture over 1,600 pixels on its long side is scaled down, and location and camera details are removed. A form that comes back (Preview, an error) does not keep a chosen photo: choose it again before saving.
        </p>
        <FieldError field={file} />
        <input
          id={file.id}
          name={file.name}
          type="file"
          accept="image/jpeg,image/png,image/webp"
          aria-invalid={file.errors?.length ? true : undefined}
          aria-describedby={describedBy(file)}
        />
      </div>
      <div className="field">
        <label htmlFor={alt.id}>{props.altLabel}</label>
        <p className="field__hint" id={`${alt.id}-hint`}>
          {props.altHint}
        </p>
        <FieldError field={alt} />
        <input {...withoutKey(getInputProps(alt, { type: 'text' }))} aria-describedby={describedBy(alt)} />
      </div>
    </fieldset>
  )
}
