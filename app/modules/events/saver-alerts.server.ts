import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { appUrl } from '#app/utils/env.server.ts'
import { saverAlertsOffUrl } from '#app/utils/signed-links.server.ts'
import { LIVE_REGISTRATION_STATUSES } from '#app/modules/registrations/statuses.ts'

/**
 * Alerts for people who saved an event and confirmed an email address (saver-links.server.ts):
 * a reminder a day before, and word when only a few places are left. Each is sent at most once
 * per saver and event: its saved_events row is marked in the same transaction as the email is
 * queued, and the email's idempotency key names both, so the job may run twice, or on two
 * workers at once.
 */

type Trx = DatabaseTransaction

export const SEND_SAVER_ALERTS_TASK = 'send_saver_alerts'
/** How long before an event its reminder goes out. */
export const SAVER_REMINDER_HOURS = 24

/** "Only a few places left": 5, or a tenth of the places for a large event. */
const FEW_PLACES_AT_LEAST = 5
const FEW_PLACES_SHARE = 10

export function fewPlacesThreshold(capacity: number) {
  return Math.max(FEW_PLACES_AT_LEAST, Math.ceil(capacity / FEW_PLACES_SHARE))
}

/** The same rule as fewPlacesThreshold, for the query that finds events to alert about. */
function fewPlacesThresholdSql(capacityColumn: string) {
  return sql<number>`greatest(${FEW_PLACES_AT_LEAST}::integer, ceil(${sql.ref(capacityColumn)} / ${FEW_PLACES_SHARE}::numeric))`
}

type AlertKind = 'reminder' | 'few-places'

export async function sendSaverAlerts(db: Database, now = new Date()) {
  const reminders = await dueAlerts(db, 'reminder', now)
  const fewPlaces = await dueAlerts(db, 'few-places', now)
  let sentReminders = 0
  let sentFewPlaces = 0
  for (const due of reminders) if (await sendAlert(db, 'reminder', due, now)) sentReminders += 1
  for (const due of fewPlaces) if (await sendAlert(db, 'few-places', due, now)) sentFewPlaces += 1
  // Links nobody opened in time are of no use to anyone: their addresses go too.
  await db.deleteFrom('saver_links').where('expires_at', '<=', now).execute()
  return { reminders: sentReminders, fewPlaces: sentFewPlaces }
}

/**
 * Saved events owed an alert, for savers with a confirmed address who chose it. Someone already
 * registered hears from their registration instead (its own reminder), and needs no nudge to book.
 */
async function dueAlerts(db: Database, kind: AlertKind, now: Date) {
  let query = db
    .selectFrom('saved_events as se')
    .innerJoin('savers as s', 's.id', 'se.saver_id')
    .innerJoin('supporters as p', 'p.id', 's.supporter_id')
    .innerJoin('events as e', 'e.id', 'se.event_id')
    .select(['se.saver_id', 'se.event_id'])
    .where('s.merged_into_id', 'is', null)
    .where('p.email', 'is not', null)
    .where('p.erased_at', 'is', null)
    .where('e.status', '=', 'published')
    .where('e.starts_at', '>', now)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('registrations as r')
            .select('r.id')
            .whereRef('r.event_id', '=', 'e.id')
            .where(sql<boolean>`lower(r.email) = lower(p.email)`)
            .where('r.status', 'in', kind === 'reminder' ? ['confirmed'] : LIVE_REGISTRATION_STATUSES),
        ),
      ),
    )
  if (kind === 'reminder') {
    query = query
      .where('s.alerts_reminder', '=', true)
      .where('se.reminder_sent_at', 'is', null)
      .where('e.starts_at', '<=', new Date(now.getTime() + SAVER_REMINDER_HOURS * 60 * 60 * 1000))
  } else {
    query = query
      .where('s.alerts_few_places', '=', true)
      .where('se.few_places_sent_at', 'is', null)
      // A full event has no places to tell anyone about; if one frees up, the alert still can go.
      .where(sql<boolean>`e.capacity - e.places_taken > 0`)
      .where(sql<boolean>`e.capacity - e.places_taken <= ${fewPlacesThresholdSql('e.capacity')}`)
  }
  return query.execute()
}

async function sendAlert(db: Database, kind: AlertKind, due: { saver_id: string; event_id: string }, now: Date) {
  return db.transaction().execute(async (trx) => {
    const column = kind === 'reminder' ? 'reminder_sent_at' : 'few_places_sent_at'
    const claimed = await trx
      .updateTable('saved_events')
      .set({ [column]: now })
      .where('saver_id', '=', due.saver_id)
      .where('event_id', '=', due.event_id)
      .where(column, 'is', null)
      .returning('event_id')
      .executeTakeFirst()
    if (!claimed) return false
    const facts = await alertFacts(trx, due)
    if (!facts?.email) return false
    await enqueueEmail(trx, {
      template: 'saved-event-alert',
      to: facts.email,
      props: {
        organisation: await getEmailOrganisation(trx),
        kind,
        eventTitle: facts.title,
        eventUrl: `${appUrl()}/events/${facts.slug}`,
        startsAt: facts.starts_at.toISOString(),
        endsAt: facts.ends_at.toISOString(),
        timeZone: facts.time_zone,
        where: facts.mode === 'online' ? 'Online' : (facts.venue_name ?? 'See the event page'),
        placesLeft: kind === 'few-places' ? Math.max(0, facts.capacity - facts.places_taken) : null,
        unsubscribeUrl: saverAlertsOffUrl(due.saver_id),
      },
      idempotencyKey: `saver-${kind}:${due.saver_id}:${due.event_id}`,
    })
    return true
  })
}

async function alertFacts(trx: Trx, due: { saver_id: string; event_id: string }) {
  return trx
    .selectFrom('savers as s')
    .innerJoin('supporters as p', 'p.id', 's.supporter_id')
    .innerJoin('events as e', (join) => join.on('e.id', '=', due.event_id))
    .select(['p.email', 'e.title', 'e.slug', 'e.starts_at', 'e.ends_at', 'e.time_zone', 'e.mode', 'e.venue_name', 'e.capacity', 'e.places_taken'])
    .where('s.id', '=', due.saver_id)
    .executeTakeFirst()
}
