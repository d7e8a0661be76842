import { describe, expect, test } from 'vitest'
import { isUniqueViolation } from '#app/utils/database-errors.server.ts'
import { escapeLike } from '#app/utils/db.server.ts'
import { EnvError, parseEnv } from '#app/utils/env.server.ts'
import { isUuid } from '#app/utils/ids.ts'
import { safeRedirect } from '#app/utils/safe-redirect.ts'
import { formatDateTime } from '#app/utils/time-zone.ts'

// The small rules that each have one home (docs/decisions/013-capability-layout.md).

describe('safeRedirect', () => {
  test('a path on this site is kept, with its query and fragment', () => {
    expect(safeRedirect('/events/iftar?x=1#book', '/')).toBe('/events/iftar?x=1#book')
  })

  test('anything that a browser would take to another site is the fallback, judged after parsing', () => {
    for (const target of ['//evil.example', '/\\evil.example', '/.//evil.example', '/./\\evil.example', 'https://evil.example/', '/a\r\nSet-Cookie: x', 'events', '', null, undefined]) {
      expect(safeRedirect(target, '/fallback')).toBe('/fallback')
    }
  })

  test('`within` keeps it inside one area: /staff, not /staffing nor a way out of it', () => {
    expect(safeRedirect('/staff/appeals', '/staff', { within: '/staff' })).toBe('/staff/appeals')
    expect(safeRedirect('/staff', '/staff', { within: '/staff' })).toBe('/staff')
    for (const target of ['/staffing', '/staff/../appeals', '/appeals']) expect(safeRedirect(target, '/staff', { within: '/staff' })).toBe('/staff')
  })
})

describe('ids, unique violations, LIKE patterns', () => {
  test('isUuid takes our ids in either case and nothing else', () => {
    expect(isUuid('0b9b7d0e-3c1a-4f7e-9d2a-1f2e3d4c5b6a')).toBe(true)
    expect(isUuid('0B9B7D0E-3C1A-4F7E-9D2A-1F2E3D4C5B6A')).toBe(true)
    for (const value of ['0b9b7d0e3c1a4f7e9d2a1f2e3d4c5b6a', '0b9b7d0e-3c1a-4f7e-9d2a-1f2e3d4c5b6', "' or 1=1 --", '', undefined, null, 42]) expect(isUuid(value)).toBe(false)
  })

  test('isUniqueViolation: SQLSTATE 23505, and the named index when one is asked for', () => {
    expect(isUniqueViolation({ code: '23505', constraint: 'appeals_slug_key' }, 'slug')).toBe(true)
    expect(isUniqueViolation({ code: '23505', constraint: 'appeals_pkey' }, 'slug')).toBe(false)
    expect(isUniqueViolation({ code: '23505', message: 'duplicate key value violates unique constraint "events_slug_key"' }, 'slug')).toBe(true)
    expect(isUniqueViolation({ code: '23505' }, 'slug')).toBe(false)
    expect(isUniqueViolation({ code: '23505' })).toBe(true)
    expect(isUniqueViolation({ code: '23503' })).toBe(false)
    expect(isUniqueViolation(new Error('boom'))).toBe(false)
  })

  test('escapeLike makes wildcards typed into a search box literal', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\')
  })
})

describe('the TIME_ZONE setting', () => {
  test('defaults to Europe/London, takes any IANA zone, and refuses a made-up one by name', () => {
    expect(parseEnv({}).TIME_ZONE).toBe('Europe/London')
    expect(parseEnv({ TIME_ZONE: 'Asia/Karachi' }).TIME_ZONE).toBe('Asia/Karachi')
    expect(() => parseEnv({ TIME_ZONE: 'Mars/Olympus_Mons' })).toThrowError(EnvError)
  })

  test('staff times are shown in it: one instant, two readings', () => {
    const instant = new Date('2026-04-05T23:30:00Z')
    expect(formatDateTime(instant, 'Europe/London')).toBe('6 Apr 2026, 00:30')
    expect(formatDateTime(instant, 'Asia/Karachi')).toBe('6 Apr 2026, 04:30')
    expect(formatDateTime(instant, 'America/New_York', { seconds: true })).toBe('5 Apr 2026, 19:30:00')
  })
})

describe('absolute addresses', () => {
  test('come from APP_URL through utils/absolute-url, never from a request (docs/decisions/022)', async () => {
    const { absoluteUrl, appOrigin } = await import('#app/utils/absolute-url.server.ts')
    const env = parseEnv({ APP_URL: 'https://donate.example.org/' })
    expect(absoluteUrl('/appeals/x?y=1', env)).toBe('https://donate.example.org/appeals/x?y=1')
    expect(appOrigin(env)).toBe('https://donate.example.org')
    for (const path of ['//evil.example/x', 'https://evil.example/', 'appeals/x']) expect(() => absoluteUrl(path, env)).toThrow()
    // No app file reads an origin off the request to write an address. The two that compare a
    // request's Origin header with the request's own origin (CSRF checks) write nothing.
    const { readdir, readFile } = await import('node:fs/promises')
    const comparesOnly = new Set(['app/utils/same-origin.server.ts', 'app/server/index.ts'])
    const offending: string[] = []
    for (const file of await readdir('app', { recursive: true })) {
      const path = `app/${file}`
      if (!/\.tsx?$/.test(path) || comparesOnly.has(path)) continue
      if (/new URL\(request\.url\)\.(origin|host|protocol)|\burl\.origin\b|get\('host'\)|headers\.host\b/.test(await readFile(path, 'utf8'))) offending.push(path)
    }
    expect(offending).toEqual([])
  })
})
