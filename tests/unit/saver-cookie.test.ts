import { randomUUID } from 'node:crypto'
import { afterEach, expect, test } from 'vitest'
import { resetEnvForTests } from '#app/utils/env.server.ts'
import { readSaverId, saverCookieHeader } from '#app/utils/saver-cookie.server.ts'
import { PRODUCTION_SETTINGS } from '#tests/setup/production-settings.ts'

const saved = { ...process.env }
afterEach(() => {
  process.env = { ...saved }
  resetEnvForTests()
})

function useEnvironment(values: Record<string, string>) {
  process.env = { ...saved, ...values }
  resetEnvForTests()
}

const request = (cookie: string) => new Request('https://donate.example.org/saved', { headers: { Cookie: cookie } })

test('in production the saver cookie is __Host-: Secure, Path=/, no Domain, so no sibling subdomain can plant one', async () => {
  useEnvironment(PRODUCTION_SETTINGS)
  const saverId = randomUUID()
  const header = await saverCookieHeader(saverId)
  expect(header).toMatch(/^__Host-sanad_saver=/)
  expect(header).toMatch(/; Secure/)
  expect(header).toMatch(/; Path=\/(;|$)/)
  expect(header).not.toMatch(/Domain=/i)
  const pair = header.split(';')[0]!
  expect(await readSaverId(request(pair))).toBe(saverId)
  // The same signed value under the plain name, as a sibling subdomain could set it, is no saver.
  expect(await readSaverId(request(pair.replace(/^__Host-/, '')))).toBeNull()
})

test('in development over http the cookie keeps its plain name and is not Secure', async () => {
  useEnvironment({ NODE_ENV: 'development' })
  const saverId = randomUUID()
  const header = await saverCookieHeader(saverId)
  expect(header).toMatch(/^sanad_saver=/)
  expect(header).not.toMatch(/Secure/)
  expect(await readSaverId(request(header.split(';')[0]!))).toBe(saverId)
})
