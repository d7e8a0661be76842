import { z } from 'zod'

/**
 * Text a person types into a public form. Control characters (NUL above all, which PostgreSQL
 * text cannot hold) are never part of a name, an address or a message, so they are refused with
 * a message rather than reaching the database. Tabs and line breaks are allowed. Browser-safe.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/
export const UNUSUAL_CHARACTERS_MESSAGE = 'Remove the unusual characters from this field'

export const plainText = () => z.string().refine((text) => !CONTROL_CHARACTERS.test(text), UNUSUAL_CHARACTERS_MESSAGE)

export const requiredText = (message: string) =>
  z.string({ required_error: message }).trim().min(1, message).refine((text) => !CONTROL_CHARACTERS.test(text), UNUSUAL_CHARACTERS_MESSAGE)
