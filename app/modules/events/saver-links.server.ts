import { createHash, randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { consumeRateLimit } from '#app/utils/rate-limit.server.ts'
import { saverLinkUrl } from '#app/utils/signed-links.server.ts'
import { resolveSaver } from './saved-events.server.ts'

/**
 * Keeping saved events on several devices, still without an account. A browser asks for a link
 * by email; each browser the link is opened (and confirmed) in joins the one list kept for that
 * address, and the asking browser's saves are copied into it. Nothing is written to the address's
 * list before then: typing someone else's address sends them one email they can ignore,
 * subscribes nobody, and never lets the asker see what the owner of the address saves.
 */

type Trx = DatabaseTransaction

/** How long a link works. */
export const SAVER_LINK_MINUTES = 60
const LINKS_PER_ADDRESS_PER_HOUR = 3
const LINKS_PER_CLIENT_PER_HOUR = 10

export type SaverLinkRequest = {
  saverId: string
  email: string
  alertsReminder: boolean
  alertsFewPlaces: boolean
}

function hashToken(token: string) {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * Emails a one-time link. Only the token's hash is kept, so the table alone opens nothing. The
 * limits stop the form being used to flood someone's inbox.
 */
export async function requestSaverLink(
  db: Database,
  request: SaverLinkRequest,
  clientIp: string,
): Promise<{ kind: 'sent' } | { kind: 'rate-limited'; retryAfterSeconds: number }> {
  const byClient = await consumeRateLimit(
    {
      keyPrefix: 'saver-link-ip',
      points: LINKS_PER_CLIENT_PER_HOUR,
      durationSeconds: 60 * 60,
    },
    clientIp,
  )
  if (!byClient.allowed)
    return {
      kind: 'rate-limited',
      retryAfterSeconds: byClient.retryAfterSeconds,
    }
  const byAddress = await consumeRateLimit(
    {
      keyPrefix: 'saver-link-email',
      points: LINKS_PER_ADDRESS_PER_HOUR,
      durationSeconds: 60 * 60,
    },
    request.email.toLowerCase(),
  )
  if (!byAddress.allowed)
    return {
      kind: 'rate-limited',
      retryAfterSeconds: byAddress.retryAfterSeconds,
    }

  const token = randomBytes(32).toString('base64url')
  const tokenHash = hashToken(token)
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('saver_links')
      .values({
        token_hash: tokenHash,
        saver_id: request.saverId,
        email: request.email,
        alerts_reminder: request.alertsReminder,
        alerts_few_places: request.alertsFewPlaces,
        expires_at: sql<Date>`now() + make_interval(mins => ${SAVER_LINK_MINUTES})`,
      })
      .execute()
    await enqueueEmail(trx, {
      template: 'saved-events-link',
      to: request.email,
      props: {
        organisation: await getEmailOrganisation(trx),
        linkUrl: saverLinkUrl(token),
        expiresInMinutes: SAVER_LINK_MINUTES,
        alertsReminder: request.alertsReminder,
        alertsFewPlaces: request.alertsFewPlaces,
      },
      idempotencyKey: `saved-events-link/${tokenHash.slice(0, 32)}`,
    })
  })
  return { kind: 'sent' }
}

/** Statuses the public can see (as in saved-events.server.ts): the confirm page counts only events that will show. */
const VISIBLE_STATUSES = ['published', 'cancelled'] as const

/** The saver that keeps this address's list: the first one bound to it that was not joined into another. */
async function addressSaver(db: Database | Trx, supporterId: string) {
  const row = await db
    .selectFrom('savers')
    .select('id')
    .where('supporter_id', '=', supporterId)
    .where('merged_into_id', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .executeTakeFirst()
  return row?.id
}

/**
 * What the confirm page says before anything happens: how many events saved in the browser that
 * asked would be added to the address's list. Reads only (mail scanners GET links too). Null
 * when the link is spent or out of date.
 */
export async function previewSaverLink(
  db: Database,
  token: string,
  browserSaverId: string | null,
): Promise<{ addedCount: number; askedHere: boolean } | null> {
  const link = await db
    .selectFrom('saver_links')
    .select(['saver_id', 'email'])
    .where('token_hash', '=', hashToken(token))
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
  if (!link) return null
  const requester = await resolveSaver(db, link.saver_id)
  if (!requester) return null
  const askedHere = browserSaverId !== null && (await resolveSaver(db, browserSaverId)) === requester
  const supporter = await db
    .selectFrom('supporters')
    .select('id')
    .where(sql<boolean>`lower(email) = lower(${link.email})`)
    .executeTakeFirst()
  const existing = supporter ? await addressSaver(db, supporter.id) : undefined
  if (existing === requester) return { addedCount: 0, askedHere }
  let query = db
    .selectFrom('saved_events as s')
    .innerJoin('events as e', 'e.id', 's.event_id')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('s.saver_id', '=', requester)
    .where('e.status', 'in', VISIBLE_STATUSES)
  if (existing) {
    query = query.where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('saved_events as t').select('t.event_id').where('t.saver_id', '=', existing).whereRef('t.event_id', '=', 's.event_id'),
        ),
      ),
    )
  }
  const row = await query.executeTakeFirstOrThrow()
  return { addedCount: Number(row.count), askedHere }
}

/**
 * Opens a link in a browser. The link proves only that whoever opens it reads the address's
 * mail, so the list belongs to the address, not to the browser that asked: that browser may be
 * someone else's, who typed this address to watch what its owner saves. So:
 * - the address's saver (found, or made now) is the one list for the address;
 * - the OPENING browser joins it: its own saves move in and its cookie will carry that saver;
 * - the ASKING browser's saves are copied in, but it does not join, and sees nothing of the
 *   address's list unless a link is opened in it too.
 * The link is spent by one conditional delete, so two clicks racing cannot both succeed.
 * Returns the saver the opening browser's cookie should carry.
 */
export async function confirmSaverLink(
  db: Database,
  token: string,
  browserSaverId: string | null,
): Promise<{ ok: true; saverId: string } | { ok: false }> {
  return db.transaction().execute(async (trx) => {
    const link = await trx
      .deleteFrom('saver_links')
      .where('token_hash', '=', hashToken(token))
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['saver_id', 'email', 'alerts_reminder', 'alerts_few_places'])
      .executeTakeFirst()
    if (!link) return { ok: false as const }
    // The upsert locks the supporter row: two links to one address confirmed at once wait here,
    // and the second finds the saver the first made instead of making another.
    const supporter = await sql<{ id: string }>`
      insert into supporters (email) values (${link.email})
      on conflict ((lower(email))) do update set updated_at = now()
      returning id`.execute(trx)
    const supporterId = supporter.rows[0]!.id
    const target =
      (await addressSaver(trx, supporterId)) ??
      (await trx.insertInto('savers').values({ supporter_id: supporterId }).returning('id').executeTakeFirstOrThrow()).id

    const { requester, opener } = await lockSavers(trx, target, link.saver_id, browserSaverId)
    await trx
      .updateTable('savers')
      .set({ alerts_reminder: link.alerts_reminder, alerts_few_places: link.alerts_few_places })
      .where('id', '=', target)
      .execute()
    if (requester && requester.id !== target) await copySaves(trx, requester.id, target)
    if (opener && opener.id !== target) {
      // A browser already keeping another address's list brings its saves, but that list stays
      // with its address (and its other browsers): one address cannot take over another's.
      if (opener.supporter_id !== null && opener.supporter_id !== supporterId) await copySaves(trx, opener.id, target)
      else await mergeSaver(trx, opener.id, target)
    }
    return { ok: true as const, saverId: target }
  })
}

/**
 * Locks the address's saver and the savers behind both browsers, always in id order, so that
 * two confirmations at once wait for each other rather than deadlock. A browser's saver is read
 * again once locked, in case it was joined into another in between.
 */
async function lockSavers(trx: Trx, target: string, requesterId: string, openerId: string | null) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const requester = await resolveSaver(trx, requesterId)
    const opener = openerId ? await resolveSaver(trx, openerId) : undefined
    const ids = [...new Set([target, requester, opener].filter((id): id is string => id !== undefined))]
    const rows = await trx.selectFrom('savers').select(['id', 'supporter_id']).where('id', 'in', ids).orderBy('id').forUpdate().execute()
    if ((await resolveSaver(trx, requesterId)) !== requester) continue
    if (openerId && (await resolveSaver(trx, openerId)) !== opener) continue
    const byId = (id: string | undefined) => rows.find((row) => row.id === id)
    return { requester: byId(requester), opener: byId(opener) }
  }
  throw new Error('Savers kept changing while a saver link was confirmed')
}

/**
 * Adds one saver's saves to another, keeping what was already sent for each event (an alert
 * is sent once per saver and event). Doing it again changes nothing.
 */
async function copySaves(trx: Trx, from: string, into: string) {
  await sql`
    insert into saved_events (saver_id, event_id, reminder_sent_at, few_places_sent_at, created_at)
    select ${into}, event_id, reminder_sent_at, few_places_sent_at, created_at from saved_events where saver_id = ${from}
    on conflict (saver_id, event_id) do update set
      reminder_sent_at = coalesce(saved_events.reminder_sent_at, excluded.reminder_sent_at),
      few_places_sent_at = coalesce(saved_events.few_places_sent_at, excluded.few_places_sent_at),
      created_at = least(saved_events.created_at, excluded.created_at)`.execute(trx)
}

/**
 * Moves one saver's saves into another and points the old saver (and any saver that pointed at
 * it) at the new one, so every browser whose cookie holds the old id reads the new list.
 */
async function mergeSaver(trx: Trx, from: string, into: string) {
  await copySaves(trx, from, into)
  await trx.deleteFrom('saved_events').where('saver_id', '=', from).execute()
  await trx
    .updateTable('savers')
    .set({
      merged_into_id: into,
      alerts_reminder: false,
      alerts_few_places: false,
    })
    .where((eb) => eb.or([eb('id', '=', from), eb('merged_into_id', '=', from)]))
    .execute()
}

/** What /saved says about this browser's saver: whether an address keeps it, and which alerts are on. */
export async function getSaverSettings(db: Database, saverId: string | null) {
  if (!saverId) return null
  const id = await resolveSaver(db, saverId)
  if (!id) return null
  const row = await db
    .selectFrom('savers')
    .select(['supporter_id', 'alerts_reminder', 'alerts_few_places'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  return {
    linked: row.supporter_id !== null,
    alertsReminder: row.alerts_reminder,
    alertsFewPlaces: row.alerts_few_places,
  }
}

/** The unsubscribe link: both alerts off for this saver. Returns false for a saver we do not have. */
export async function turnOffSaverAlerts(db: Database, saverId: string): Promise<boolean> {
  const id = await resolveSaver(db, saverId)
  if (!id) return false
  await db.updateTable('savers').set({ alerts_reminder: false, alerts_few_places: false }).where('id', 'in', [id, saverId]).execute()
  return true
}

/** Whether this saver still gets any alert, for the unsubscribe page. */
export async function saverAlertsOn(db: Database, saverId: string): Promise<boolean | null> {
  const settings = await getSaverSettings(db, saverId)
  return settings ? settings.alertsReminder || settings.alertsFewPlaces : null
}
