import { Writable } from 'node:stream'
import { expect, test } from 'vitest'
import { createLogger } from '#app/utils/logger.server.ts'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, logger: createLogger({ level: 'info', destination }) }
}

test('personal data is censored at any depth, other fields are kept', () => {
  const { lines, logger } = capture()
  logger.info(
    {
      email: 'amina@example.org',
      donation: { donor_name: 'Amina Yusuf', message: 'Stay strong', amount_minor: 2_500 },
      request: { headers: { cookie: 'session=abc' } },
    },
    'donation created',
  )
  const output = lines.join('')
  for (const secret of ['amina@example.org', 'Amina Yusuf', 'Stay strong', 'session=abc']) {
    expect(output).not.toContain(secret)
  }
  expect(output).toContain('"amount_minor":2500')
  expect(output).toContain('[redacted]')
})

test('errors keep their message and stack but lose the values PostgreSQL puts in detail', () => {
  const { lines, logger } = capture()
  const error = Object.assign(new Error('duplicate key value violates unique constraint "supporters_email_key"'), {
    detail: 'Key (lower(email))=(amina@example.org) already exists.',
  })
  logger.error({ err: error }, 'insert failed')
  const output = lines.join('')
  expect(output).toContain('supporters_email_key')
  expect(output).not.toContain('amina@example.org')
})
