/**
 * RFC 8058 one-click unsubscribe: a mail provider (Gmail, Yahoo) POSTs exactly
 * `List-Unsubscribe=One-Click` to the address in the email's `List-Unsubscribe` header, with no
 * cookie and the signed link's parameters in the URL. The signature is the permission, as it is
 * for a person pressing the button; stopping is idempotent, so a provider's retry is harmless.
 */
export function isOneClickUnsubscribe(form: FormData): boolean {
  return form.get('List-Unsubscribe') === 'One-Click'
}

/** The signed link's parameters from the URL the provider posted to. */
export function linkParameters(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams)
}

/** What the provider gets back: a plain 200, nothing to render. */
export function oneClickDone(): Response {
  return new Response('Unsubscribed', { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } })
}
