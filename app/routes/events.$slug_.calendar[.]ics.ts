import type { LoaderFunctionArgs } from '@remix-run/node'
import { getEventPage, publicCalendarEntry } from '#app/modules/events/event-page.server.ts'
import { buildIcs } from '#app/modules/events/ics.ts'
import { absoluteUrl } from '#app/utils/absolute-url.server.ts'
import { getDb } from '#app/utils/db.server.ts'

/**
 * `/events/:slug/calendar.ics`: the public calendar file for a published event. It holds what the
 * event page shows and no more: the venue or "Online", never the joining link, which goes only to
 * registered people in their own calendar file.
 */
export async function loader({ params }: LoaderFunctionArgs) {
  const page = await getEventPage(getDb(), params.slug ?? '')
  // A cancelled event keeps its page, but offers nothing to put in a calendar.
  if (!page || page.isCancelled) throw new Response('Not found', { status: 404 })

  const pageUrl = absoluteUrl(`/events/${page.event.slug}`)
  const body = buildIcs(publicCalendarEntry(page, pageUrl))
  // Slugs are already plain; this keeps a header safe whatever staff typed.
  const filename = `${page.event.slug.replace(/[^A-Za-z0-9._-]/g, '-')}.ics`
  return new Response(body, {
    headers: {
      'Content-Type': 'text/calendar; charset=utf-8',
      'Content-Disposition': `attachment; filename="${filename}"`,
      'Cache-Control': 'no-cache',
    },
  })
}
