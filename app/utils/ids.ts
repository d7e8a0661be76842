import { z } from 'zod'

/**
 * The one check for the ids our database makes (gen_random_uuid) and our forms carry. Anything
 * that fails it is answered "not found" before any query, so a malformed id never reaches SQL.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

/** A form field holding one of our ids; `message` is what a person reads when it is not one. */
export function uuidField(message = 'This is not one of ours') {
  return z.string().regex(UUID, message)
}
