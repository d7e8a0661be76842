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
 * by email; opening it in another browser joins that browser's saver to the first one. The email
 * address and the alert choices are written to the saver only then: typing someone else's
 * address sends them one email they can ignore, and subscribes nobody.
 */

type Trx = DatabaseTransaction

/** How long a link works. */
export const SAVER_LINK_MINUTES = 60
const LINKS_PER_ADDRESS_PER_HOUR = 3
const LINKS_PER_CLIENT_PER_HOUR = 10

export type SaverLinkRequest = { saverId: string; email: string; alertsReminder: boolean; alertsFewPlaces: boolean }

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
  const byClient = await consumeRateLimit({ keyPrefix: 'saver-link-ip', points: LINKS_PER_CLIENT_PER_HOUR, durationSeconds: 60 * 60 }, clientIp)
  if (!byClient.allowed) return { kind: 'rate-limited', retryAfterSeconds: byClient.retryAfterSeconds }
  const byAddress = await consumeRateLimit(
    { keyPrefix: 'saver-link-email', points: LINKS_PER_ADDRESS_PER_HOUR, durationSeconds: 60 * 60 },
    request.email.toLowerCase(),
  )
  if (!byAddress.allowed) return { kind: 'rate-limited', retryAfterSeconds: byAddress.retryAfterSeconds }

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

/**
 * Opens a link in a browser: the link is spent (one conditional delete, so two clicks racing
 * cannot both succeed), the address and alert choices are written to the saver that asked, and
 * the opening browser's own saves join it. Returns the saver the browser's cookie should carry.
 */
export async function confirmSaverLink(db: Database, token: string, browserSaverId: string | null): Promise<{ ok: true; saverId: string } | { ok: false }> {
  return db.transaction().execute(async (trx) => {
    const link = await trx
      .deleteFrom('saver_links')
      .where('token_hash', '=', hashToken(token))
      .where('expires_at', '>', sql<Date>`now()`)
      .returning(['saver_id', 'email', 'alerts_reminder', 'alerts_few_places'])
      .executeTakeFirst()
    if (!link) return { ok: false as const }
    const target = await resolveSaver(trx, link.saver_id)
    const from = browserSaverId ? await resolveSaver(trx, browserSaverId) : undefined
    if (!target) return { ok: false as const }
    // Both savers are locked in one order, so two merges at once wait for each other rather than deadlock.
    await trx
      .selectFrom('savers')
      .select('id')
      .where('id', 'in', from ? [target, from] : [target])
      .orderBy('id')
      .forUpdate()
      .execute()
    const supporter = await sql<{ id: string }>`
      insert into supporters (email) values (${link.email})
      on conflict ((lower(email))) do update set updated_at = now()
      returning id`.execute(trx)
    await trx
      .updateTable('savers')
      .set({ supporter_id: supporter.rows[0]!.id, alerts_reminder: link.alerts_reminder, alerts_few_places: link.alerts_few_places })
      .where('id', '=', target)
      .execute()
    if (from && from !== target) await mergeSaver(trx, from, target)
    return { ok: true as const, saverId: target }
  })
}

/**
 * Moves one saver's saves into another, keeping what was already sent for each event, and points
 * the old saver (and any saver that pointed at it) at the new one. Doing it again changes nothing.
 */
async function mergeSaver(trx: Trx, from: string, into: string) {
  await sql`
    insert into saved_events (saver_id, event_id, reminder_sent_at, few_places_sent_at, created_at)
    select ${into}, event_id, reminder_sent_at, few_places_sent_at, created_at from saved_events where saver_id = ${from}
    on conflict (saver_id, event_id) do update set
      reminder_sent_at = coalesce(saved_events.reminder_sent_at, excluded.reminder_sent_at),
      few_places_sent_at = coalesce(saved_events.few_places_sent_at, excluded.few_places_sent_at),
      created_at = least(saved_events.created_at, excluded.created_at)`.execute(trx)
  await trx.deleteFrom('saved_events').where('saver_id', '=', from).execute()
  await trx
    .updateTable('savers')
    .set({ merged_into_id: into, alerts_reminder: false, alerts_few_places: false })
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
  return { linked: row.supporter_id !== null, alertsReminder: row.alerts_reminder, alertsFewPlaces: row.alerts_few_places }
}

/** The unsubscribe link: both alerts off for this saver. Returns false for a saver we do not have. */
export async function turnOffSaverAlerts(db: Database, saverId: string): Promise<boolean> {
  const id = await resolveSaver(db, saverId)
  if (!id) return false
  await db
    .updateTable('savers')
    .set({ alerts_reminder: false, alerts_few_places: false })
    .where('id', 'in', [id, saverId])
    .execute()
  return true
}

/** Whether this saver still gets any alert, for the unsubscribe page. */
export async function saverAlertsOn(db: Database, saverId: string): Promise<boolean | null> {
  const settings = await getSaverSettings(db, saverId)
  return settings ? settings.alertsReminder || settings.alertsFewPlaces : null
}
