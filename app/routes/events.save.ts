import { data, redirect, type ActionFunctionArgs } from '@remix-run/node'
import { z } from 'zod'
import {
  getOrCreateSaver,
  isSaveableEvent,
  saveEvent,
  unsaveEvent,
} from '#app/modules/events/saved-events.server.ts'
import { clientIpFromRequest } from '#app/utils/client-ip.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimitHeaders, rateLimitMessage } from '#app/utils/rate-limit.server.ts'
import { readFormData } from '#app/utils/form-data.server.ts'
import { readSaverId, saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import { isCrossSiteRequest } from '#app/utils/same-origin.server.ts'
import { safeRedirect } from '#app/utils/safe-redirect.ts'

const FALLBACK_REDIRECT = '/events'

const schema = z.object({
  eventId: z.string().uuid(),
  intent: z.enum(['save', 'unsave']),
  redirectTo: z.string().max(2000).optional(),
})

/**
 * Save or unsave an event for this browser. With JavaScript the button's fetcher sends
 * `_fetcher=1` and gets `{ saved }`; a plain form post is sent back where it came from.
 */
export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== 'POST') {
    return new Response('Method not allowed', { status: 405, headers: { Allow: 'POST' } })
  }
  if (isCrossSiteRequest(request)) {
    return new Response('Saving events from another site is not allowed', { status: 403 })
  }
  const form = await readFormData(request)
  const fromFetcher = form.get('_fetcher') === '1'
  const reply = replyFor(fromFetcher)
  const limit = await checkRateLimit('save-event', clientIpFromRequest(request))
  if (!limit.allowed) {
    const message = rateLimitMessage(limit.retryAfterSeconds)
    const headers = rateLimitHeaders(limit.retryAfterSeconds)
    // Without JavaScript the browser shows this answer as the page: words, not JSON.
    if (!fromFetcher && !wantsJson(request)) {
      return new Response(message, { status: 429, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' } })
    }
    return reply({ error: message }, { status: 429, headers })
  }
  const parsed = schema.safeParse({
    eventId: form.get('eventId') ?? undefined,
    intent: form.get('intent') ?? undefined,
    redirectTo: form.get('redirectTo') ?? undefined,
  })
  if (!parsed.success) return reply({ errors: parsed.error.flatten().fieldErrors }, { status: 400 })
  const { eventId, intent, redirectTo } = parsed.data
  const db = getDb()
  if (!(await isSaveableEvent(db, eventId))) return reply({ error: 'There is no such event' }, { status: 404 })

  const cookieSaverId = await readSaverId(request)
  const headers = new Headers({ 'Cache-Control': 'no-store' })
  if (intent === 'save') {
    const saverId = await getOrCreateSaver(db, cookieSaverId)
    await saveEvent(db, saverId, eventId)
    headers.set('Set-Cookie', await saverCookieHeader(saverId))
  } else if (cookieSaverId) {
    await unsaveEvent(db, cookieSaverId, eventId)
    headers.set('Set-Cookie', await saverCookieHeader(cookieSaverId))
  }
  // Unsaving without a cookie: nothing was saved, so no saver and no cookie are made for it.

  if (fromFetcher || wantsJson(request)) return reply({ saved: intent === 'save' }, { headers })
  return redirect(safeRedirect(redirectTo, FALLBACK_REDIRECT), { status: 303, headers })
}

/**
 * A fetcher's request arrives through single fetch, where a returned 4xx Response would be
 * treated as a thrown error: it gets `data()`. A plain post reaches this resource route directly,
 * where only a real Response keeps its status.
 */
function replyFor(fromFetcher: boolean) {
  return (body: Record<string, unknown>, init: ResponseInit) =>
    fromFetcher ? data(body, init) : Response.json(body, init)
}

function wantsJson(request: Request) {
  const accept = request.headers.get('Accept') ?? ''
  return accept.includes('application/json') && !accept.includes('text/html')
}

export async function loader() {
  return new Response('Method not allowed', { status: 405, headers: { Allow: 'POST' } })
}
