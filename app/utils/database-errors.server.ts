/**
 * Whether applying something failed because of what it carried rather than because of the
 * moment: a value the database refuses (SQLSTATE class 22, data exception: a NUL byte, a number
 * out of range, an impossible date; class 23, a broken constraint), or our code meeting a value
 * of the wrong type. Trying the same input again fails the same way, so it is refused (400), not
 * answered 500 for a retry. Anything else (the database away, a deadlock, a serialisation
 * failure) may pass on a retry.
 */
export function isPermanentFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code)) return true
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || (error as Error | null)?.name === 'ZodError'
}

/**
 * Whether a write lost a race to a unique index (SQLSTATE 23505): the other request's row is
 * there, so the caller answers as if it had found it. `constraint`, when given, must appear in
 * the index's name or in the message that names it (where a driver leaves the name out); an
 * unnamed violation is not taken for that index's.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: unknown; constraint?: string; message?: string } | null
  if (pgError?.code !== '23505') return false
  if (constraint === undefined) return true
  return `${pgError.constraint ?? ''} ${pgError.message ?? ''}`.includes(constraint)
}
