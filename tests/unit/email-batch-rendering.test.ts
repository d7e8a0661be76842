import { render } from '@react-email/components'
import fc from 'fast-check'
import { createElement, type ReactElement } from 'react'
import { describe, expect, test } from 'vitest'
import { emailTemplateNames, emailTemplates, isBatchTemplate, parseEmailProps, renderEmail, renderEmails } from '#emails/index.ts'
import { htmlToTextOptions } from '#emails/layout.tsx'

/*
 * A batch renders each email once per shared content and puts each person's own values in
 * (emails/index.ts renderEmails). Nothing may tell the two apart: the property below renders the
 * same emails both ways, for values full of the characters HTML escapes.
 */

const batchTemplates = emailTemplateNames.filter(isBatchTemplate)

/** Names as people type them: markup, quotes, ampersands, accents, right-to-left scripts, long. */
const personName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }),
  fc.constantFrom('Amina', `O'Brien & <Sons>`, 'Zoë "Z" Ndiaye', 'محمد عبد الله', '  Padded  ', 'a'.repeat(200), '&amp;', 'Line\nbreak'),
)
const signedUrl = fc
  .tuple(fc.webUrl({ validSchemes: ['https'] }), fc.string({ maxLength: 20 }))
  .map(([url, token]) => `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}&x="<'>"`)
const checkinCode = fc.string({ minLength: 1, maxLength: 64 }).filter((code) => code.trim().length > 0)

function valueFor(key: string) {
  if (key === 'name') return fc.option(personName, { nil: null })
  if (key === 'checkinCode') return fc.option(checkinCode, { nil: null })
  return signedUrl
}

describe('rendering a batch', () => {
  test('the templates that may go in a batch are the news, alerts and event notices', () => {
    expect(batchTemplates.sort()).toEqual(['appeal-update', 'event-cancelled', 'event-changed', 'event-reminder', 'saved-event-alert'])
  })

  test.each(batchTemplates)('%s: each email of a batch is exactly what rendering it alone gives', async (name) => {
    const template = emailTemplates[name]
    const personalised = template.batch!.personalised as readonly string[]
    const person = fc.record(Object.fromEntries(personalised.map((key) => [key, valueFor(key)])))
    await fc.assert(
      fc.asyncProperty(fc.array(person, { minLength: 2, maxLength: 6 }), async (people) => {
        const emails = people.map((values) => ({ template: name, props: { ...template.previewProps, ...values } }))
        const together = await renderEmails(emails)
        for (const [index, email] of emails.entries()) {
          const alone = await renderEmail(name, email.props).then(
            (rendered) => ({ ok: true, email: rendered }),
            (error: Error) => ({ ok: false, error: error.message }),
          )
          expect(together[index]).toEqual(alone)
        }
      }),
      { numRuns: 40 },
    )
  })

  test('an email whose props are invalid fails alone; the others render', async () => {
    const props = emailTemplates['appeal-update'].previewProps
    const results = await renderEmails([
      { template: 'appeal-update', props: { ...props, name: 'One' } },
      { template: 'appeal-update', props: { ...props, unsubscribeUrl: 'javascript:alert(1)' } },
      { template: 'appeal-update', props: { ...props, name: 'Three' } },
    ])
    expect(results.map((result) => result.ok)).toEqual([true, false, true])
    expect(results[2]).toMatchObject({ ok: true, email: { text: expect.stringContaining('Dear Three,') } })
  })
})

test('the plain-text part is what react-email renders as plain text, for every template', async () => {
  for (const name of emailTemplateNames) {
    const parsed = parseEmailProps(name, emailTemplates[name].previewProps) as Record<string, unknown>
    const Component = emailTemplates[name].Component as unknown as (props: Record<string, unknown>) => ReactElement
    const reactEmailText = await render(createElement(Component, parsed), {
      plainText: true,
      htmlToTextOptions,
    })
    expect((await renderEmail(name, parsed)).text, name).toBe(reactEmailText.replaceAll('\u0000', '').trim())
  }
})
