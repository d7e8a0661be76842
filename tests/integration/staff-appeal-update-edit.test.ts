import { beforeAll, expect, test } from 'vitest'
import { postAppealUpdate } from '#app/modules/appeals/appeal-updates.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { action as editAction, loader as editLoader } from '#app/routes/staff.appeals.$id_.updates.$updateId.tsx'
import { createAppeal } from './donation-fixtures.ts'
import { createStaff, getRequest, postRequest, sessionCookieFor, settle } from './staff-fixtures.ts'

/** Issue 13: a posted appeal update can be corrected. */

const db = getDb()
let staffId: string
let cookie: string

beforeAll(async () => {
  staffId = (await createStaff('staff')).id
  cookie = await sessionCookieFor(staffId)
})

test('staff correct a posted update’s title and words; the change is audited, bad input is a 400, an unknown update a 404', async () => {
  const appeal = await createAppeal()
  const posted = await postAppealUpdate(db, appeal.id, { title: 'Karim is home', bodyMarkdown: 'He arived today.', email: false }, { staffUserId: staffId })
  if (posted.outcome !== 'posted') throw new Error('not posted')
  const path = `/staff/appeals/${appeal.id}/updates/${posted.updateId}`
  const params = { id: appeal.id, updateId: posted.updateId }

  const page = await settle(() => editLoader({ request: getRequest(path, { cookie }), params, context: {} }))
  expect(page.status).toBe(200)
  expect(page.body).toMatchObject({ update: { title: 'Karim is home', bodyMarkdown: 'He arived today.' } })

  const empty = await settle(() => editAction({ request: postRequest(path, { title: '', bodyMarkdown: 'x' }, { cookie }), params, context: {} }))
  expect(empty.status).toBe(400)

  const saved = await settle(() => editAction({ request: postRequest(path, { title: 'Karim is home at last', bodyMarkdown: 'He arrived today.' }, { cookie }), params, context: {} }))
  expect(saved.status).toBe(303)
  expect(saved.headers.get('location')).toBe(`/staff/appeals/${appeal.id}/updates?posted=edited`)
  expect(await db.selectFrom('appeal_updates').select(['title', 'body_markdown']).where('id', '=', posted.updateId).executeTakeFirstOrThrow()).toEqual({
    title: 'Karim is home at last',
    body_markdown: 'He arrived today.',
  })
  const audit = await db.selectFrom('audit_log').select(['staff_user_id', 'details']).where('action', '=', 'appeal.update.edit').where('subject_id', '=', appeal.id).execute()
  expect(audit).toEqual([{ staff_user_id: staffId, details: { updateId: posted.updateId } }])

  const other = await createAppeal()
  const elsewhere = await settle(() =>
    editAction({ request: postRequest(path, { title: 'x', bodyMarkdown: 'y' }, { cookie }), params: { id: other.id, updateId: posted.updateId }, context: {} }),
  )
  expect(elsewhere.status).toBe(404)
})
