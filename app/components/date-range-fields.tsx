/**
 * The first and last days of a staff page's GET filter form, with the range's error (one message
 * for the pair) announced on both inputs.
 */
export function DateRangeFields({
  idPrefix,
  labels = { from: 'From', to: 'To' },
  values,
  errorId,
}: {
  idPrefix: string
  labels?: { from: string; to: string }
  values: { from?: string; to?: string }
  /** The id of the element that says what is wrong with the range, when something is. */
  errorId?: string
}) {
  return (['from', 'to'] as const).map((name) => (
    <div className="field" key={name}>
      <label htmlFor={`${idPrefix}-${name}`}>{labels[name]}</label>
      <input
        id={`${idPrefix}-${name}`}
        name={name}
        type="date"
        defaultValue={values[name] ?? ''}
        aria-invalid={errorId ? true : undefined}
        aria-describedby={errorId}
      />
    </div>
  ))
}
