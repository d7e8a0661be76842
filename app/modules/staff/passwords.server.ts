import { hash, verify, type Algorithm } from '@node-rs/argon2'

/** `Algorithm.Argon2id`, written out: isolatedModules cannot read the package's const enum. */
const ARGON2ID = 2 as Algorithm.Argon2id

/** OWASP's argon2id parameters: 19 MiB, two passes, one lane. */
const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 }

export const MIN_PASSWORD_LENGTH = 12
/** Argon2 takes any length, but a megabyte "password" is only a way to burn our CPU. */
export const MAX_PASSWORD_LENGTH = 200

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS)
}

let dummyHash: Promise<string> | undefined

/**
 * Checks a password against a stored hash. With no hash (no such user, or one who signs in only
 * by link) a throwaway hash is checked instead, so the answer takes as long either way and its
 * timing does not tell whether an address belongs to a staff member.
 */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hashPassword('not a password anyone has')
    await verify(await dummyHash, password).catch(() => false)
    return false
  }
  try {
    return await verify(storedHash, password)
  } catch {
    // A malformed stored hash is a refusal, never a crash of the sign-in page.
    return false
  }
}
