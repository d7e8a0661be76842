/**
 * The form pieces the staff forms (and /saved) import: the public ones, which are conform-free
 * because they load with appeal and event pages (public-form-parts.tsx), and what only conform
 * forms need.
 */
export * from '#app/components/public-form-parts.tsx'

/** React warns when `key` arrives inside spread props, so conform's key is set apart. */
export function withoutKey<Props extends { key?: string }>({ key: _key, ...props }: Props): Omit<Props, 'key'> {
  return props
}
