import { Secret, TOTP } from 'otpauth'
import type { APIRequestContext, Page } from 'playwright-core'
import { expect } from 'vitest'
import { DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_ADMIN_TOTP_SECRET } from '#scripts/seed/demo-staff.ts'

/**
 * Signing in as the demo administrator, who (as every administrator) has a second factor: the
 * password, then the TOTP code worked out from the demo data's secret.
 *
 * A code is accepted once only (docs/decisions/020), and the e2e files sign in several times a
 * minute: so try this step's code, then the next step's (the server takes one step ahead), and
 * if both are spent wait for the step to turn and try the one after.
 */
export { DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD }

const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(DEMO_ADMIN_TOTP_SECRET) })
const codeAtStep = (step: number) => totp.generate({ timestamp: step * 30_000 })

export async function answerDemoAdminCode(submit: (code: string) => Promise<boolean>): Promise<void> {
  const step = Math.floor(Date.now() / 30_000)
  if (await submit(codeAtStep(step))) return
  if (await submit(codeAtStep(step + 1))) return
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, (step + 1) * 30_000 - Date.now() + 500)))
  if (await submit(codeAtStep(step + 2))) return
  throw new Error('The demo admin’s TOTP code was refused three times')
}

/** Through the pages, as a person would (with or without JavaScript); ends on /staff. */
export async function signInInBrowser(page: Page) {
  await page.goto('/staff/sign-in')
  const form = page.getByRole('region', { name: 'With your password' })
  await form.getByLabel('Email address').fill(DEMO_ADMIN_EMAIL)
  await form.getByRole('textbox', { name: 'Password' }).fill(DEMO_ADMIN_PASSWORD)
  await form.getByRole('button', { name: 'Sign in', exact: true }).click()
  await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe('Enter your code')
  await answerDemoAdminCode(async (code) => {
    await page.getByLabel('Code', { exact: true }).fill(code)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    // With JavaScript the client router follows the redirect: poll until either page has rendered.
    let outcome = ''
    await expect
      .poll(
        async () => {
          const heading = await page.locator('h1').innerText()
          const refused = await page.locator('#code-error').count()
          outcome = heading === 'Campaign totals' ? 'in' : refused > 0 ? 'refused' : ''
          return outcome
        },
        { timeout: 15_000 },
      )
      .not.toBe('')
    return outcome === 'in'
  })
  expect(new URL(page.url()).pathname).toBe('/staff')
}

/** The Cookie header of a signed-in demo admin, through plain HTTP requests. */
export async function signInWithFetch(baseUrl: URL): Promise<string> {
  const first = await fetch(new URL('/staff/sign-in', baseUrl), {
    method: 'POST',
    headers: { origin: baseUrl.origin },
    body: new URLSearchParams({ intent: 'password', email: DEMO_ADMIN_EMAIL, password: DEMO_ADMIN_PASSWORD, redirectTo: '/staff' }),
    redirect: 'manual',
  })
  expect(first.status, 'the demo admin’s password').toBe(303)
  expect(first.headers.get('location')).toBe('/staff/sign-in/code')
  const challenge = first.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ')
  let session = ''
  await answerDemoAdminCode(async (code) => {
    const answer = await fetch(new URL('/staff/sign-in/code', baseUrl), {
      method: 'POST',
      headers: { origin: baseUrl.origin, cookie: challenge },
      body: new URLSearchParams({ code }),
      redirect: 'manual',
    })
    if (answer.status !== 303) return false
    session = answer.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';')[0]!)
      .filter((cookie) => !cookie.endsWith('='))
      .join('; ')
    return true
  })
  return session
}

/** The same, inside a browser context (its cookie jar keeps the session). */
export async function signInWithRequest(request: APIRequestContext): Promise<void> {
  const first = await request.post('/staff/sign-in', {
    form: { intent: 'password', email: DEMO_ADMIN_EMAIL, password: DEMO_ADMIN_PASSWORD, redirectTo: '/staff' },
    maxRedirects: 0,
  })
  expect(first.status(), 'the demo admin’s password').toBe(303)
  await answerDemoAdminCode(async (code) => {
    const answer = await request.post('/staff/sign-in/code', { form: { code }, maxRedirects: 0 })
    return answer.status() === 303
  })
}
