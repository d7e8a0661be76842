import { createHash, randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { enqueueEmail } from '#app/modules/email/outbox.server.ts'
import { getEmailOrganisation } from '#app/modules/organisation/organisation.server.ts'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { checkRateLimit, rateLimit } from '#app/utils/rate-limit.server.ts'
import { saverLinkUrl } from '#app/utils/signed-links.server.ts'
import { resolveSaver } from './saved-events.server.ts'
import { upsertSupporter } from '#app/modules/supporters/supporters.server.ts'
import { markEmailConfirmed, mayEmailUnconfirmed } from '#app/modules/email/unconfirmed-limit.server.ts'
import { normaliseEmail } from '#app/utils/email-address.ts'
import { getLogger } from '#app/utils/logger.server.ts'

/**
 * Keeping saved events on several devices, still without an account. A browser asks for a link
 * by email; each browser the link is opened (and confirmed, by typing the address) in joins the
 * one list kept for that address, and the asking browser's saves are copied into it. Nothing is written to the address's
 * list before then: typing someone else's address sends them one email they can ignore,
 * subscribes nobody, and never lets the asker see what the owner of the address saves.
 */

type Trx = DatabaseTransaction

/** How long a link works. */
export const SAVER_LINK_MINUTES = 60

export type SaverLinkRequest = {
  /** The asking browser's saver, or a way to find or make it once the limits have allowed the request. */
  saverId: string | (() => Promise<string>)
  email: string
  alertsReminder: boolean
  alertsFewPlaces: boolean
}

function hashToken(token: string) {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * Emails a one-time link. Only the token's hash is kept, so the table alone opens nothing. The
 * limits stop the form being used to flood someone's inbox: too many requests from one connection
 * are refused (429, which says nothing about the address), while too many links to one address,
 * or an unconfirmed address's daily limit of form emails, answer exactly as a sent link does and
 * send nothing (docs/decisions/021): the page never tells a stranger what was asked of an address.
 */
export async function requestSaverLink(
  db: Database,
  request: SaverLinkRequest,
  clientIp: string,
): Promise<{ kind: 'sent'; saverId: string } | { kind: 'rate-limited'; retryAfterSeconds: number }> {
  const byClient = await checkRateLimit('saver-link-ip', clientIp)
  if (!byClient.allowed)
    return {
      kind: 'rate-limited',
      retryAfterSeconds: byClient.retryAfterSeconds,
    }
  const saverId = typeof request.saverId === 'string' ? request.saverId : await request.saverId()
  const byAddress = await checkRateLimit('saver-link-email', normaliseEmail(request.email))
  if (!byAddress.allowed) {
    getLogger().warn({ limit: 'saver-link-email' }, 'Saved-events link not sent: too many links to one address this hour')
    return { kind: 'sent', saverId }
  }

  const token = randomBytes(32).toString('base64url')
  const tokenHash = hashToken(token)
  await db.transaction().execute(async (trx) => {
    if (!(await mayEmailUnconfirmed(trx, request.email, 'saved-events-link'))) return
    await trx
      .insertInto('saver_links')
      .values({
        token_hash: tokenHash,
        saver_id: saverId,
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
  return { kind: 'sent', saverId }
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
 * The address a link was sent to, as the confirm page shows it: enough for its owner to recognise
 * it ("m•••••@e••••.org"), not enough to learn it from a forwarded link. The first character of
 * the local part and of the domain's first label stay, and the top-level domain.
 */
export function maskEmail(email: string) {
  const at = email.lastIndexOf('@')
  const bullets = (part: string) => '•'.repeat(part.length)
  if (at < 1) return bullets(email)
  const local = email.slice(0, at)
  const labels = email.slice(at + 1).split('.')
  const tld = labels.length > 1 ? labels.pop()! : null
  const masked = labels.map((label, index) => (index === 0 ? label.slice(0, 1) + bullets(label.slice(1)) : bullets(label)))
  return `${local.slice(0, 1)}${bullets(local.slice(1))}@${masked.join('.')}${tld === null ? '' : `.${tld}`}`
}

export type SaverLinkPreview = {
  /** The address the list belongs to, masked. */
  maskedEmail: string
  /** Events from the browser that asked that confirming adds to the list. */
  addedCount: number
  askedHere: boolean
  /** Events saved in the opening browser that the person may choose to add as well. */
  ownCount: number
}

/** Visible events saved by one saver that another (the address's list) does not have yet. */
async function countNewSaves(db: Database, from: string, existing: string | undefined) {
  let query = db
    .selectFrom('saved_events as s')
    .innerJoin('events as e', 'e.id', 's.event_id')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('s.saver_id', '=', from)
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
  return Number(row.count)
}

/**
 * What the confirm page says before anything happens: whose list this is (masked), how many
 * events saved in the browser that asked would be added to it, and how many saved in this one
 * could be. Reads only (mail scanners GET links too). Null when the link is spent or out of date.
 */
export async function previewSaverLink(db: Database, token: string, browserSaverId: string | null): Promise<SaverLinkPreview | null> {
  const link = await db
    .selectFrom('saver_links')
    .select(['saver_id', 'email'])
    .where('token_hash', '=', hashToken(token))
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
  if (!link) return null
  const requester = await resolveSaver(db, link.saver_id)
  if (!requester) return null
  const opener = browserSaverId !== null ? await resolveSaver(db, browserSaverId) : undefined
  const askedHere = opener === requester
  const supporter = await db
    .selectFrom('supporters')
    .select('id')
    .where(sql<boolean>`lower(email) = lower(${link.email})`)
    .executeTakeFirst()
  const existing = supporter ? await addressSaver(db, supporter.id) : undefined
  const maskedEmail = maskEmail(link.email)
  const addedCount = existing === requester ? 0 : await countNewSaves(db, requester, existing)
  // The asking browser's saves are added anyway, so there is no choice to offer there.
  const ownCount = opener && !askedHere && opener !== existing ? await countNewSaves(db, opener, existing) : 0
  return { maskedEmail, addedCount, askedHere, ownCount }
}

/** Wrong addresses typed for one link before it is spent: too few to guess an address by trying. */
export const WRONG_ADDRESS_ATTEMPTS = rateLimit('saver-link-wrong-address').points

export type ConfirmSaverLinkResult =
  | { ok: true; saverId: string }
  | { ok: false; reason: 'invalid' | 'wrong-address' | 'spent' }

/**
 * Opens a link in a browser. The link proves only that whoever opens it reads the address's
 * mail, so the list belongs to the address, not to the browser that asked: that browser may be
 * someone else's, who typed this address to watch what its owner saves. So:
 * - the address's saver (found, or made now) is the one list for the address;
 * - the OPENING browser joins it (its cookie will carry that saver); its own saves move in only
 *   when the person ticks the box for it, otherwise they stay behind on its old saver;
 * - the ASKING browser's saves are copied in, but it does not join, and sees nothing of the
 *   address's list unless a link is opened in it too.
 * A link can be forwarded: someone asks for a link to their own address and sends it to the
 * person they want to watch, whose browser would then show them everything it saves. So the
 * person confirming must type the address the link was sent to. A wrong address spends nothing
 * (the real owner may still use the link) until WRONG_ADDRESS_ATTEMPTS have failed.
 * The link is spent by one conditional delete, so two clicks racing cannot both succeed.
 * Returns the saver the opening browser's cookie should carry.
 */
export async function confirmSaverLink(
  db: Database,
  token: string,
  browserSaverId: string | null,
  confirmation: { typedEmail: string; addOwnSaves: boolean },
): Promise<ConfirmSaverLinkResult> {
  const tokenHash = hashToken(token)
  // No address we sent to holds a NUL (PostgreSQL text cannot), and one in the query would fail it.
  if (confirmation.typedEmail.includes('\u0000')) return refuseConfirmation(db, tokenHash)
  const result = await db.transaction().execute(async (trx) => {
    const link = await trx
      .deleteFrom('saver_links')
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', sql<Date>`now()`)
      .where(sql<boolean>`lower(email) = lower(${confirmation.typedEmail.trim()})`)
      .returning(['saver_id', 'email', 'alerts_reminder', 'alerts_few_places'])
      .executeTakeFirst()
    if (!link) return null
    // The upsert locks the supporter row: two links to one address confirmed at once wait here,
    // and the second finds the saver the first made instead of making another.
    const supporterId = await upsertSupporter(trx, { email: link.email })
    // The link reached its reader, who typed the address: it is theirs, and no longer limited.
    await markEmailConfirmed(trx, supporterId)
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
    if (confirmation.addOwnSaves && opener && opener.id !== target) {
      // A browser already keeping another address's list brings its saves, but that list stays
      // with its address (and its other browsers): one address cannot take over another's.
      if (opener.supporter_id !== null && opener.supporter_id !== supporterId) await copySaves(trx, opener.id, target)
      else await mergeSaver(trx, opener.id, target)
    }
    return target
  })
  if (result !== null) return { ok: true, saverId: result }
  return refuseConfirmation(db, tokenHash)
}

/** Why a confirmation found no link to spend; a wrong address counts towards spending it. */
async function refuseConfirmation(db: Database, tokenHash: string): Promise<ConfirmSaverLinkResult> {
  const pending = await db
    .selectFrom('saver_links')
    .select('token_hash')
    .where('token_hash', '=', tokenHash)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
  if (!pending) return { ok: false, reason: 'invalid' }
  // Keyed by the token's hash, like the table, so the counters alone open nothing either.
  const attempt = await checkRateLimit('saver-link-wrong-address', tokenHash)
  if (attempt.allowed) return { ok: false, reason: 'wrong-address' }
  await db.deleteFrom('saver_links').where('token_hash', '=', tokenHash).execute()
  return { ok: false, reason: 'spent' }
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
