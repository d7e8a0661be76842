/**
 * The one rule for where a form may send someone afterwards: a path on this site, judged after
 * the URL is parsed the way a browser parses it. "//evil.example", "/\evil.example" and
 * "/.//evil.example" (which resolves to the path "//evil.example") all lead to other sites, and
 * control characters can split a header: each gives `fallback`. `within` narrows it to one area
 * of the site (the staff pages).
 */
export function safeRedirect(target: string | null | undefined, fallback: string, options: { within?: string } = {}): string {
  if (!target || !target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return fallback
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(target)) return fallback
  const base = 'http://sanad.invalid'
  const resolved = new URL(target, base)
  if (resolved.origin !== base) return fallback
  if (resolved.pathname.startsWith('//') || resolved.pathname.startsWith('/\\')) return fallback
  const { within } = options
  if (within && resolved.pathname !== within && !resolved.pathname.startsWith(`${within}/`)) return fallback
  return `${resolved.pathname}${resolved.search}${resolved.hash}`
}
