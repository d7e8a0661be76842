import { createHash } from 'node:crypto'

/**
 * An id made from other values, always the same for the same values: a form submitted again with
 * what it first carried finds the same row, and one changed in between finds a row of its own.
 * (The check for our ids, and the form field that carries one, are in ids.ts, which the browser
 * also loads.) Shaped as a version-5-style UUID, so it passes isUuid and fits a uuid column.
 */
export function uuidFromValues(...values: string[]): string {
  const hex = createHash('sha256').update(values.join('\u0000')).digest('hex')
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
