import { describe, expect, test } from 'vitest'
import { EnvError, listenHost, parseEnv } from '#app/utils/env.server.ts'
import { PRODUCTION_SETTINGS } from '#tests/setup/production-settings.ts'

describe('parseEnv', () => {
  test('fills in defaults for a laptop with no settings', () => {
    const env = parseEnv({})
    expect(env.NODE_ENV).toBe('development')
    expect(env.PORT).toBe(3000)
    expect(env.DATABASE_URL).toBeUndefined()
    expect(env.PGLITE_DIR).toBe('./data/pglite')
    expect(env.MIGRATE_ON_START).toBe(true)
  })

  test('the web server heap grows by 60% between full collections unless told otherwise (0: V8 decides)', () => {
    expect(parseEnv({}).HEAP_GROWING_PERCENT).toBe(60)
    expect(parseEnv({ HEAP_GROWING_PERCENT: '0' }).HEAP_GROWING_PERCENT).toBe(0)
    expect(() => parseEnv({ HEAP_GROWING_PERCENT: '-5' })).toThrowError(EnvError)
  })

  test('reads PORT as a number and treats empty values as unset', () => {
    const env = parseEnv({ PORT: '8080', DATABASE_URL: '' })
    expect(env.PORT).toBe(8080)
    expect(env.DATABASE_URL).toBeUndefined()
  })

  test('production refuses to start without its secrets and names each missing one', () => {
    expect(() => parseEnv({ NODE_ENV: 'production' })).toThrowError(EnvError)
    try {
      parseEnv({ NODE_ENV: 'production' })
    } catch (error) {
      expect((error as EnvError).problems).toEqual([
        'SESSION_SECRET is required in production',
        'RESEND_API_KEY is required in production',
        'RESEND_WEBHOOK_SECRET is required in production',
        'EMAIL_FROM is required in production',
        'STRIPE_SECRET_KEY is required in production',
        'STRIPE_WEBHOOK_SECRET is required in production',
        'APP_URL is required in production',
      ])
    }
  })

  test('production starts when its secrets are set', () => {
    const env = parseEnv({
      NODE_ENV: 'production',
      SESSION_SECRET: 'x'.repeat(32),
      RESEND_API_KEY: 're_live_key',
      RESEND_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      EMAIL_FROM: 'CAGE <appeals@example.org>',
      STRIPE_SECRET_KEY: 'sk_live_key',
      STRIPE_WEBHOOK_SECRET: 'whsec_live',
      APP_URL: 'https://donate.example.org',
    })
    expect(env.NODE_ENV).toBe('production')
  })

  test('explains each invalid value by name', () => {
    try {
      parseEnv({ PORT: 'eighty', DATABASE_URL: 'not a url', SESSION_SECRET: 'short' })
      expect.unreachable('parseEnv accepted invalid values')
    } catch (error) {
      const problems = (error as EnvError).problems.join('\n')
      expect(problems).toMatch(/^PORT: /m)
      expect(problems).toMatch(/^DATABASE_URL: /m)
      expect(problems).toMatch(/^SESSION_SECRET: must be at least 32 characters/m)
    }
  })
})

describe('HOST: the interface the server listens on', () => {
  test('development listens on this machine only, so nobody on the same network reads the dev mailbox', () => {
    expect(listenHost(parseEnv({}))).toBe('127.0.0.1')
    expect(listenHost(parseEnv({ NODE_ENV: 'test' }))).toBe('127.0.0.1')
  })

  test('production listens on every interface, as a container needs', () => {
    expect(listenHost(parseEnv(PRODUCTION_SETTINGS))).toBeUndefined()
  })

  test('HOST overrides the default, and a value that is not an address stops start-up', () => {
    expect(listenHost(parseEnv({ HOST: '0.0.0.0' }))).toBe('0.0.0.0')
    expect(listenHost(parseEnv({ HOST: '::1' }))).toBe('::1')
    expect(() => parseEnv({ HOST: 'http://example.org/' })).toThrowError(/HOST/)
  })
})
