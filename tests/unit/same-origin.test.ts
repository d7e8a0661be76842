import { describe, expect, test } from 'vitest'
import { isCrossSite } from '#app/utils/same-origin.server.ts'

const OWN = 'http://localhost:3000'

describe('isCrossSite', () => {
  test('a form posted from a no-referrer page of ours (Origin: null, Sec-Fetch-Site: same-origin) is ours', () => {
    // Chromium sends Origin: null from a page with Referrer-Policy: no-referrer, such as the
    // sign-in link's page: its one button must sign the person in.
    expect(isCrossSite(new Headers({ Origin: 'null', 'Sec-Fetch-Site': 'same-origin' }), OWN)).toBe(false)
  })

  test('an opaque origin without Sec-Fetch-Site saying same-origin is refused', () => {
    expect(isCrossSite(new Headers({ Origin: 'null' }), OWN)).toBe(true)
    expect(isCrossSite(new Headers({ Origin: 'null', 'Sec-Fetch-Site': 'same-site' }), OWN)).toBe(true)
    expect(isCrossSite(new Headers({ Origin: 'null', 'Sec-Fetch-Site': 'cross-site' }), OWN)).toBe(true)
  })

  test('our origin passes, another is refused, and no Origin at all (an older browser) passes', () => {
    expect(isCrossSite(new Headers({ Origin: OWN }), OWN)).toBe(false)
    expect(isCrossSite(new Headers({ Origin: 'https://evil.example' }), OWN)).toBe(true)
    expect(isCrossSite(new Headers({ Origin: OWN, 'Sec-Fetch-Site': 'cross-site' }), OWN)).toBe(true)
    expect(isCrossSite(new Headers(), OWN)).toBe(false)
  })
})
