import { afterEach, describe, expect, test } from 'vitest'
import { buildSecurityTxt } from '#app/modules/organisation/security-txt.server.ts'
import { loader } from '#app/routes/[.]well-known.security[.]txt.ts'
import { getDb } from '#app/utils/db.server.ts'
import { EnvError, parseEnv, resetEnvForTests } from '#app/utils/env.server.ts'

const saved = { ...process.env }
afterEach(async () => {
  process.env = { ...saved }
  resetEnvForTests()
  await getDb().updateTable('organisation').set({ contact_email: null }).where('id', '=', 1).execute()
})

async function get() {
  return loader()
}

describe('/.well-known/security.txt (RFC 9116)', () => {
  test('answers the configured contact, expiry, language and canonical address as UTF-8 plain text', async () => {
    process.env.SECURITY_CONTACT = 'mailto:security@example.org'
    process.env.SECURITY_TXT_EXPIRES = '2027-06-30T00:00:00Z'
    process.env.APP_URL = 'https://donate.example.org/'
    resetEnvForTests()
    const response = await get()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await response.text()).toBe(
      [
        'Contact: mailto:security@example.org',
        'Expires: 2027-06-30T00:00:00.000Z',
        'Preferred-Languages: en',
        'Canonical: https://donate.example.org/.well-known/security.txt',
        '',
      ].join('\n'),
    )
  })

  test("without SECURITY_CONTACT the organisation's contact email is the contact", async () => {
    await getDb().insertInto('organisation').values({ id: 1, name: 'Sanad Justice Project', short_name: 'Sanad', vision: 'v', mission: 'm', contact_email: 'hello@example.org' }).onConflict((conflict) => conflict.column('id').doUpdateSet({ contact_email: 'hello@example.org' })).execute()
    const text = await (await get()).text()
    expect(text).toMatch(/^Contact: mailto:hello@example\.org$/m)
  })

  test('with no contact at all there is no file, rather than one without the required Contact', async () => {
    expect((await get()).status).toBe(404)
  })

  test('without SECURITY_TXT_EXPIRES the file expires 180 days after the start of today (UTC)', () => {
    const text = buildSecurityTxt({ contact: 'mailto:a@example.org', expires: undefined, appUrl: 'http://localhost:3000', now: new Date('2026-12-03T13:45:00Z') })
    expect(text).toContain('Expires: 2027-06-01T00:00:00.000Z\n')
  })

  test('a bare email becomes a mailto: URI; a contact or expiry that is not one stops start-up', () => {
    expect(parseEnv({ SECURITY_CONTACT: 'security@example.org' }).SECURITY_CONTACT).toBe('mailto:security@example.org')
    expect(parseEnv({ SECURITY_CONTACT: 'https://example.org/report' }).SECURITY_CONTACT).toBe('https://example.org/report')
    expect(() => parseEnv({ SECURITY_CONTACT: 'http://example.org/report' })).toThrowError(EnvError)
    expect(() => parseEnv({ SECURITY_CONTACT: 'call us' })).toThrowError(EnvError)
    expect(() => parseEnv({ SECURITY_TXT_EXPIRES: 'next year' })).toThrowError(EnvError)
  })
})
