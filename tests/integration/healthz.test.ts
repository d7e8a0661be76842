import { afterAll, expect, test } from 'vitest'
import { loader } from '#app/routes/healthz.ts'
import { closeDb } from '#app/utils/db.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'

const workingUrl = process.env.DATABASE_URL

afterAll(async () => {
  await closeDb()
  process.env.DATABASE_URL = workingUrl
  resetEnvForTests()
})

test('answers 200 when the database answers', async () => {
  const response = await loader()
  expect(response.status).toBe(200)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(await response.json()).toEqual({ status: 'ok', database: true })
})

test('answers 503 when the database is down', async () => {
  await closeDb()
  // Port 1 on loopback: nothing listens there, so every connection is refused.
  process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:1/postgres'
  resetEnvForTests()
  const response = await loader()
  expect(response.status).toBe(503)
  expect(await response.json()).toEqual({ status: 'unavailable', database: false })
})
