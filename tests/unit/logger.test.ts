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
