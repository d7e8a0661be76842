import { parseArgs } from 'node:util'
import { z } from 'zod'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '#app/modules/staff/passwords.server.ts'
import { createSignInToken, sendSignInLink } from '#app/modules/staff/sign-in.server.ts'
import { upsertStaffUser } from '#app/modules/staff/staff-users.server.ts'
import { closeDb, getDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'
import { prepareDatabase } from '#app/server/prepare-database.server.ts'

/**
 * npm run staff:create -- --email a@b.org --role admin [--name "A B"] [--password …]
 *
 * Creates a staff member, or changes the role of an existing one. Without a password they sign
 * in by link: emailed when Resend is set up, otherwise printed here for whoever runs this.
 */

const usage = 'Usage: npm run staff:create -- --email a@b.org --role admin|staff|viewer [--name "A B"] [--password …]'

const argsSchema = z.object({
  email: z.string().trim().email(),
  role: z.enum(['admin', 'staff', 'viewer']),
  name: z.string().trim().min(1).max(200).optional(),
  password: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(MAX_PASSWORD_LENGTH).optional(),
})

let values: Record<string, string | boolean | undefined>
try {
  values = parseArgs({
    options: { email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' } },
    strict: true,
  }).values
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`)
  process.exit(1)
}
const parsed = argsSchema.safeParse(values)
if (!parsed.success) {
  console.error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('\n'))
  console.error(usage)
  process.exit(1)
}
const args = parsed.data

await prepareDatabase({ seed: false })
const db = getDb()
try {
  const user = await upsertStaffUser(db, args)
  console.log(`${user.created ? 'Created' : 'Updated'} ${args.email} with the role ${args.role}.`)
  if (user.disabled) console.log('This account is disabled: it cannot sign in until it is enabled again.')
  if (args.password === undefined && !user.disabled) {
    if (getEnv().RESEND_API_KEY) {
      const member = await db.selectFrom('staff_users').select(['id', 'email', 'name']).where('id', '=', user.id).executeTakeFirstOrThrow()
      await sendSignInLink(db, member)
      console.log('A sign-in link is on its way by email (the worker sends it).')
    } else {
      const { url } = await createSignInToken(db, user.id)
      console.log(`Sign in once with this link within 15 minutes (do not share it):\n${url}`)
    }
  }
} finally {
  await closeDb()
}
