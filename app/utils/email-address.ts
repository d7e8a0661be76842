/**
 * The one rule for comparing email addresses, for supporters and staff alike: trimmed and
 * lower-cased (the database's unique indexes are on lower(email) to match).
 */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}
