/**
 * The browser's own validation skips the honeypot: only the server judges it. Kept apart from
 * form-parts.tsx so that the lazily loaded form checks do not pull React into their chunk graph.
 */
export function withoutHoneypot(formData: FormData) {
  const copy = new FormData()
  for (const [name, value] of formData) if (name !== 'website') copy.append(name, value)
  return copy
}
