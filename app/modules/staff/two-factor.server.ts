import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { sql } from 'kysely'
import { Secret, TOTP } from 'otpauth'
import QRCode from 'qrcode'
import type { Database, DatabaseTransaction } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { recordAudit } from './audit.server.ts'
import { signOutEverywhere } from './sessions.server.ts'

/**
 * The staff second factor (OWASP ASVS 5.0 level 2; docs/decisions/020): TOTP (RFC 6238) from an
 * authenticator app, with single-use recovery codes. Required for administrators, offered to
 * everyone.
 *
 * - The secret is stored encrypted (AES-256-GCM, key from TOTP_ENCRYPTION_KEY or SESSION_SECRET)
 *   and never logged; it is shown once, as a QR code we draw ourselves and as text.
 * - A code is accepted for its 30-second step and one either side (clocks drift), and never twice:
 *   the last step used is stored and only a later one is accepted.
 * - Recovery codes are 120 random bits each, stored as SHA-256 hashes, usable once.
 */

const PERIOD_SECONDS = 30
const DIGITS = 6
/** Steps either side of now that are accepted. */
const WINDOW = 1
const RECOVERY_CODE_COUNT = 10
/** A secret being set up is forgotten after this long. */
export const ENROLMENT_MINUTES = 30

const DEVELOPMENT_KEY = 'sanad-development-totp-encryption-key'

function encryptionKey(): Buffer {
  const env = getEnv()
  const material = env.TOTP_ENCRYPTION_KEY ?? env.SESSION_SECRET ?? DEVELOPMENT_KEY
  return Buffer.from(hkdfSync('sha256', material, 'sanad', 'staff-totp-secret-v1', 32))
}

/** `v1.<iv>.<tag>.<ciphertext>`, base64url: the database alone cannot produce codes. */
export function encryptSecret(base32: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(), iv)
  const encrypted = Buffer.concat([cipher.update(base32, 'utf8'), cipher.final()])
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), encrypted.toString('base64url')].join('.')
}

export function decryptSecret(stored: string): string | null {
  const [version, iv, tag, data] = stored.split('.')
  if (version !== 'v1' || !iv || !tag || !data) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey(), Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
  } catch {
    // Another key (a changed TOTP_ENCRYPTION_KEY) or a damaged value: no code can match.
    return null
  }
}

function totp(base32: string, label = 'staff') {
  return new TOTP({ issuer: 'Sanad', label, algorithm: 'SHA1', digits: DIGITS, period: PERIOD_SECONDS, secret: Secret.fromBase32(base32) })
}

/** The step a code belongs to, if it is right for now (± WINDOW); null otherwise. */
export function matchingStep(base32: string, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const delta = totp(base32).validate({ token: code, timestamp: now, window: WINDOW })
  return delta === null ? null : Math.floor(now / 1000 / PERIOD_SECONDS) + delta
}

/** The code for a secret at a time (tests and the demo data's helpers). */
export function codeFor(base32: string, timestamp = Date.now()): string {
  return totp(base32).generate({ timestamp })
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

// ── Recovery codes ─────────────────────────────────────────────────────────────────────────

const RECOVERY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'

/** 24 characters from a 32-letter alphabet (120 bits), in groups of four for typing. */
function newRecoveryCode(): string {
  const bytes = randomBytes(24)
  const letters = [...bytes].map((byte) => RECOVERY_ALPHABET[byte % 32]!).join('')
  return letters.match(/.{4}/g)!.join('-')
}

/** Case, spaces and dashes do not matter when a code is typed back. */
export function normaliseRecoveryCode(typed: string): string {
  return typed.toLowerCase().replace(/[\s-]/g, '')
}

function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(`staff-recovery:${normaliseRecoveryCode(code)}`).digest('hex')
}

export function looksLikeRecoveryCode(typed: string): boolean {
  return /^[a-z0-9]{24}$/.test(normaliseRecoveryCode(typed))
}

/** New recovery codes replace every old one; the plain codes are returned to be shown once. */
async function replaceRecoveryCodes(trx: DatabaseTransaction, staffUserId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
  await trx.deleteFrom('staff_recovery_codes').where('staff_user_id', '=', staffUserId).execute()
  await trx
    .insertInto('staff_recovery_codes')
    .values(codes.map((code) => ({ staff_user_id: staffUserId, code_hash: hashRecoveryCode(code) })))
    .execute()
  return codes
}

// ── Status and enrolment ───────────────────────────────────────────────────────────────────

export type TwoFactorStatus = {
  enabled: boolean
  recoveryCodesLeft: number
  /** A secret being set up: shown as a QR code and as text until confirmed. */
  pending: { secret: string; uri: string; qrSvg: string } | null
}

export async function getTwoFactorStatus(db: Database, staffUserId: string): Promise<TwoFactorStatus> {
  const user = await db
    .selectFrom('staff_users')
    .select(['email', 'totp_enabled_at', 'totp_pending_secret'])
    .select(sql<boolean>`totp_pending_at > now() - make_interval(mins => ${ENROLMENT_MINUTES})`.as('pending_fresh'))
    .where('id', '=', staffUserId)
    .executeTakeFirstOrThrow()
  const left = await db
    .selectFrom('staff_recovery_codes')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('staff_user_id', '=', staffUserId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow()
  let pending: TwoFactorStatus['pending'] = null
  const secret = user.totp_pending_secret && user.pending_fresh ? decryptSecret(user.totp_pending_secret) : null
  if (secret) {
    const uri = totp(secret, user.email).toString()
    // Drawn here, inline: no image from another origin, nothing for a browser extension to fetch.
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
    pending = { secret, uri, qrSvg }
  }
  return { enabled: user.totp_enabled_at !== null, recoveryCodesLeft: left.n, pending }
}

/** A new secret to set up (any earlier unconfirmed one is replaced). The current one stays until confirmed. */
export async function startEnrolment(db: Database, staffUserId: string): Promise<void> {
  await db
    .updateTable('staff_users')
    .set({ totp_pending_secret: encryptSecret(newTotpSecret()), totp_pending_at: sql`now()` })
    .where('id', '=', staffUserId)
    .execute()
}

export type EnrolmentResult = { outcome: 'enabled'; recoveryCodes: string[] } | { outcome: 'wrong-code' } | { outcome: 'no-enrolment' }

/**
 * Turns the pending secret on when the code from the app matches it: the member has shown their
 * app holds it. Fresh recovery codes come back to be shown once. Audited.
 */
export async function confirmEnrolment(db: Database, staffUserId: string, code: string): Promise<EnrolmentResult> {
  return db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('staff_users')
      .select(['totp_pending_secret', 'totp_enabled_at'])
      .select(sql<boolean>`totp_pending_at > now() - make_interval(mins => ${ENROLMENT_MINUTES})`.as('pending_fresh'))
      .where('id', '=', staffUserId)
      .forUpdate()
      .executeTakeFirstOrThrow()
    const secret = user.totp_pending_secret && user.pending_fresh ? decryptSecret(user.totp_pending_secret) : null
    if (!secret) return { outcome: 'no-enrolment' as const }
    const step = matchingStep(secret, code.trim())
    if (step === null) return { outcome: 'wrong-code' as const }
    await trx
      .updateTable('staff_users')
      .set({
        totp_secret: user.totp_pending_secret,
        totp_enabled_at: sql`now()`,
        totp_last_step: step,
        totp_pending_secret: null,
        totp_pending_at: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', staffUserId)
      .execute()
    const recoveryCodes = await replaceRecoveryCodes(trx, staffUserId)
    await recordAudit(trx, {
      staffUserId,
      action: 'staff.two_factor_enrolled',
      subjectType: 'staff_user',
      subjectId: staffUserId,
      details: { method: 'totp', replaced: user.totp_enabled_at !== null },
    })
    return { outcome: 'enabled' as const, recoveryCodes }
  })
}

/** New recovery codes for a member who has the second factor on (the old ones stop working). */
export async function regenerateRecoveryCodes(db: Database, staffUserId: string): Promise<string[] | null> {
  return db.transaction().execute(async (trx) => {
    const user = await trx.selectFrom('staff_users').select('totp_enabled_at').where('id', '=', staffUserId).forUpdate().executeTakeFirstOrThrow()
    if (user.totp_enabled_at === null) return null
    const codes = await replaceRecoveryCodes(trx, staffUserId)
    await recordAudit(trx, { staffUserId, action: 'staff.recovery_codes_replaced', subjectType: 'staff_user', subjectId: staffUserId })
    return codes
  })
}

/**
 * Checks a code from the app, or a recovery code, for a member with the second factor on, and
 * spends it: the TOTP step is recorded (an older or equal step is refused afterwards), the
 * recovery code marked used, each by one conditional update so two requests cannot both spend it.
 */
export async function verifySecondFactor(
  trx: DatabaseTransaction,
  staffUserId: string,
  typed: string,
): Promise<{ outcome: 'totp' } | { outcome: 'recovery-code'; remaining: number } | { outcome: 'wrong' }> {
  const code = typed.trim()
  if (/^\d{6}$/.test(code)) {
    const user = await trx.selectFrom('staff_users').select('totp_secret').where('id', '=', staffUserId).executeTakeFirst()
    const secret = user?.totp_secret ? decryptSecret(user.totp_secret) : null
    const step = secret ? matchingStep(secret, code) : null
    if (step === null) return { outcome: 'wrong' }
    const spent = await trx
      .updateTable('staff_users')
      .set({ totp_last_step: step })
      .where('id', '=', staffUserId)
      .where((where) => where.or([where('totp_last_step', 'is', null), where('totp_last_step', '<', step)]))
      .returning('id')
      .executeTakeFirst()
    return spent ? { outcome: 'totp' } : { outcome: 'wrong' }
  }
  if (!looksLikeRecoveryCode(code)) return { outcome: 'wrong' }
  const expected = hashRecoveryCode(code)
  const used = await trx
    .updateTable('staff_recovery_codes')
    .set({ used_at: sql`now()` })
    .where('staff_user_id', '=', staffUserId)
    .where('code_hash', '=', expected)
    .where('used_at', 'is', null)
    .returning('code_hash')
    .executeTakeFirst()
  // The hash came from the database by equality; compared again in constant time for good measure.
  if (!used || !timingSafeEqual(Buffer.from(used.code_hash), Buffer.from(expected))) return { outcome: 'wrong' }
  const left = await trx
    .selectFrom('staff_recovery_codes')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('staff_user_id', '=', staffUserId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow()
  await recordAudit(trx, { staffUserId, action: 'staff.recovery_code_used', subjectType: 'staff_user', subjectId: staffUserId, details: { remaining: left.n } })
  return { outcome: 'recovery-code', remaining: left.n }
}

/**
 * Another administrator turns a member's second factor off (a lost phone and no recovery codes):
 * the secret and recovery codes go, the member is signed out everywhere and must set it up again
 * (an administrator before anything else). Audited with who did it.
 */
export async function resetTwoFactor(trx: DatabaseTransaction, actorId: string, targetId: string): Promise<void> {
  await trx
    .updateTable('staff_users')
    .set({ totp_secret: null, totp_enabled_at: null, totp_last_step: null, totp_pending_secret: null, totp_pending_at: null, updated_at: sql`now()` })
    .where('id', '=', targetId)
    .execute()
  await trx.deleteFrom('staff_recovery_codes').where('staff_user_id', '=', targetId).execute()
  await trx.deleteFrom('staff_sign_in_challenges').where('staff_user_id', '=', targetId).execute()
  const sessionsEnded = await signOutEverywhere(trx, targetId)
  await recordAudit(trx, { staffUserId: actorId, action: 'staff.two_factor_reset', subjectType: 'staff_user', subjectId: targetId, details: { sessionsEnded } })
}

/**
 * Turns TOTP on with a given secret, no code asked: for the demo data (development only) and
 * tests, which need an administrator whose codes they can work out. Nothing in the app calls it.
 */
export async function enableTotpWithSecret(db: Database | DatabaseTransaction, staffUserId: string, base32: string): Promise<void> {
  await db
    .updateTable('staff_users')
    .set({ totp_secret: encryptSecret(base32), totp_enabled_at: sql`now()`, totp_last_step: null })
    .where('id', '=', staffUserId)
    .execute()
}
