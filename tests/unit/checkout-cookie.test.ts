import { afterEach, expect, test } from 'vitest'
import { bookingCookieHeader, readBookingSessionId } from '#app/utils/checkout-cookie.server.ts'
import { resetEnvForTests } from '#app/utils/env.server.ts'
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

const request = (cookie: string) => new Request('https://donate.example.org/registrations/checkout', { headers: { Cookie: cookie } })

test('in production the checkout cookie is __Host-, HttpOnly, Lax and short-lived, bound to one Checkout Session', async () => {
  useEnvironment(PRODUCTION_SETTINGS)
  const header = await bookingCookieHeader('cs_live_a1B2c3')
  expect(header).toMatch(/^__Host-sanad_booking=/)
  expect(header).toMatch(/; Secure/)
  expect(header).toMatch(/; HttpOnly/)
  expect(header).toMatch(/; SameSite=Lax/)
  expect(header).toMatch(/; Max-Age=3600/)
  expect(header).toMatch(/; Path=\/(;|$)/)
  expect(header).not.toMatch(/Domain=/i)
  const pair = header.split(';')[0]!
  expect(await readBookingSessionId(request(pair))).toBe('cs_live_a1B2c3')
  // The same signed value under the plain name, as a sibling subdomain could set it, is no checkout.
  expect(await readBookingSessionId(request(pair.replace(/^__Host-/, '')))).toBeNull()
})

test('in development over http the cookie keeps its plain name and is not Secure', async () => {
  useEnvironment({ NODE_ENV: 'development' })
  const header = await bookingCookieHeader('cs_offline_registration_1')
  expect(header).toMatch(/^sanad_booking=/)
  expect(header).not.toMatch(/Secure/)
  expect(await readBookingSessionId(request(header.split(';')[0]!))).toBe('cs_offline_registration_1')
})
