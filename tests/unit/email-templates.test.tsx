import { describe, expect, test } from 'vitest'
import { formatMoney } from '#app/utils/money.ts'
import {
  EmailPropsError,
  emailTemplateNames,
  emailTemplates,
  type EmailTemplateName,
  parseEmailProps,
  renderEmail,
} from '#emails/index.ts'

const preview = <Name extends EmailTemplateName>(name: Name) =>
  structuredClone(emailTemplates[name].previewProps) as Record<string, any>

function escapeHtml(text: string) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const htmlTag = /<\/?[a-z!][^>]*>/i

/** The facts each preview email must state, in both its HTML and its text. */
const keyFacts: Record<EmailTemplateName, (props: Record<string, any>) => string[]> = {
  'donation-receipt': (p) => [
    '£25.00',
    formatMoney(p.feeCoverMinor, p.currency),
    formatMoney(p.amountMinor + p.feeCoverMinor, p.currency),
    p.appealTitle,
    p.donationId,
    '14 March 2026',
    'Gift Aid',
    p.organisation.charityNumber,
    p.appealUrl,
  ],
  'monthly-gift-receipt': (p) => [formatMoney(p.amountMinor, p.currency), p.appealTitle, p.donationId, '1 April 2026', p.stopUrl],
  'monthly-gift-cancelled': (p) => [formatMoney(p.amountMinor, p.currency), p.appealTitle, '2 June 2026', p.appealUrl],
  'registration-confirmed': (p) => [
    p.eventTitle,
    '18:30 GMT',
    '20:30 GMT',
    p.venueName,
    p.ticketTypeName,
    formatMoney(p.amountPaidMinor, p.currency),
    p.checkinCode,
    p.cancelUrl,
    'calendar file is attached',
  ],
  'waitlist-joined': (p) => [p.eventTitle, p.eventUrl, '18:30 GMT', 'waiting list', p.manageUrl],
  'registration-exists': (p) => [p.eventTitle, '18:30 GMT', 'You already have a place', p.manageUrl, 'If this was not you'],
  'place-offered': (p) => [p.eventTitle, p.claimUrl, '12 March 2026, 18:00 GMT'],
  'registration-cancelled': (p) => [p.eventTitle, '18:30 GMT', formatMoney(p.refundMinor, p.currency)],
  'registration-refunded': (p) => [p.eventTitle, '18:30 GMT', formatMoney(p.refundMinor, p.currency), 'the card you paid with', 'your place is still booked', p.manageUrl, p.organisation.contactEmail],
  'event-reminder': (p) => [p.eventTitle, '18:00 BST', '19:00 BST', p.onlineUrl, p.cancelUrl],
  'event-cancelled': (p) => [
    p.eventTitle,
    '18:30 GMT',
    formatMoney(p.refundMinor, p.currency),
    ...(p.message as string).split('\n\n'),
  ],
  'event-changed': (p) => [p.eventTitle, '14 March 2026, 18:30 GMT', '21 March 2026, 19:00 GMT', 'London time', p.venueName, p.cancelUrl, 'updated calendar file is attached'],
  'appeal-update': (p) => [p.updateTitle, p.appealTitle, ...(p.updateBody as string).split('\n\n').slice(0, 1), p.appealUrl, p.unsubscribeUrl],
  'staff-sign-in': (p) => [p.signInUrl, '15 minutes', 'did not ask'],
  'saved-events-link': (p) => [p.linkUrl, '60 minutes', 'a day before each saved event', 'only a few places are left', 'did not ask'],
  'saved-event-alert': (p) => [p.eventTitle, 'only 4 places', '18:30 GMT', p.where, p.eventUrl, p.unsubscribeUrl],
}

describe('every template', () => {
  test('the registry has the sixteen templates', () => {
    expect([...emailTemplateNames].sort()).toEqual(Object.keys(keyFacts).sort())
    expect(emailTemplateNames).toHaveLength(16)
  })

  test.each(emailTemplateNames)('%s renders its preview props to HTML and plain text with the key facts', async (name) => {
    const props = preview(name)
    const { subject, html, text } = await renderEmail(name, props)

    expect(subject.length).toBeGreaterThan(5)
    expect(subject).not.toMatch(/[\r\n]/)
    expect(html).toMatch(/^<!DOCTYPE html/)
    expect(html).toContain('lang="en-GB"')
    expect(text.length).toBeGreaterThan(100)
    expect(text).not.toMatch(htmlTag)

    for (const output of [html, text]) {
      expect(output).toContain(props.organisation.name)
      expect(output).toContain('We will never share your details.')
    }
    expect(html).toContain(props.organisation.primaryColour)
    for (const fact of keyFacts[name](props)) {
      expect(fact, `${name}: a fact is missing from the preview props`).toBeTruthy()
      expect(html, `HTML of ${name} should contain ${fact}`).toContain(escapeHtml(fact))
      expect(text, `text of ${name} should contain ${fact}`).toContain(fact)
    }
  })

  test.each(emailTemplateNames)('%s loads nothing from anywhere and links only where its props say', async (name) => {
    const props = preview(name)
    const { html } = await renderEmail(name, props)
    expect(html).not.toMatch(/<img|<link|<script|<iframe|<object|\bsrc=|url\(|@import|background=/i)

    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'))
    expect(hrefs.length).toBeGreaterThan(0)
    const allowed = new Set(
      [...JSON.stringify(props).matchAll(/"(https?:\/\/[^"]+)"/g)].map((match) => match[1]!),
    )
    if (props.organisation.contactEmail) allowed.add(`mailto:${props.organisation.contactEmail}`)
    for (const href of hrefs) expect(allowed, `unexpected link ${href}`).toContain(href)
  })

  test.each(emailTemplateNames)('%s props are plain JSON, so the outbox can store them as jsonb', (name) => {
    const parsed = parseEmailProps(name, preview(name))
    const stored = JSON.parse(JSON.stringify(parsed))
    expect(stored).toEqual(parsed)
    // The worker parses the stored props again: parsing must give back the same props.
    expect(parseEmailProps(name, stored)).toEqual(parsed)
  })
})

describe('subjects', () => {
  test('say what the email is about', async () => {
    expect((await renderEmail('donation-receipt', preview('donation-receipt'))).subject).toBe('Thank you for your gift of £25.95')
    expect((await renderEmail('place-offered', preview('place-offered'))).subject).toContain(preview('place-offered').eventTitle)
    expect((await renderEmail('staff-sign-in', preview('staff-sign-in'))).subject).toContain(preview('staff-sign-in').organisation.name)
  })

  test('are one line even when a title has line breaks in it', async () => {
    const { subject } = await renderEmail('event-cancelled', {
      ...preview('event-cancelled'),
      eventTitle: 'Vigil\r\nBcc: someone@example.net',
    })
    expect(subject).toBe('Cancelled: Vigil Bcc: someone@example.net')
  })
})

describe('money', () => {
  test('a 2500 GBP gift is £25.00, and covered fees add up to the total charged', async () => {
    const { html, text } = await renderEmail('donation-receipt', { ...preview('donation-receipt'), amountMinor: 2500, feeCoverMinor: 100 })
    for (const output of [html, text]) {
      expect(output).toContain('£25.00')
      expect(output).toContain('£1.00')
      expect(output).toContain('£26.00')
    }
  })

  test('no fee cover: no fee line, and the total is the gift', async () => {
    const { text } = await renderEmail('donation-receipt', { ...preview('donation-receipt'), amountMinor: 2500, feeCoverMinor: 0 })
    expect(text).not.toContain('Card fees')
    expect(text).toMatch(/Total charged\s+£25\.00/)
  })

  test('zero-decimal currency: 500 JPY is ¥500, not ¥5.00', async () => {
    const yen = formatMoney(500, 'JPY')
    expect(yen).toMatch(/^(JP)?¥500$/)
    const { subject, html, text } = await renderEmail('donation-receipt', {
      ...preview('donation-receipt'),
      amountMinor: 500,
      feeCoverMinor: 0,
      currency: 'JPY',
    })
    expect(subject).toContain(yen)
    for (const output of [html, text]) {
      expect(output).toContain(yen)
      expect(output).not.toMatch(/¥5\.00|¥500\.00/)
    }
  })

  test('currency codes are accepted in lower case and stored in upper case', () => {
    const parsed = parseEmailProps('donation-receipt', { ...preview('donation-receipt'), currency: 'gbp' })
    expect(parsed.currency).toBe('GBP')
  })

  test('gift aid is mentioned only when it was declared', async () => {
    const declared = await renderEmail('donation-receipt', { ...preview('donation-receipt'), giftAid: true })
    const notDeclared = await renderEmail('donation-receipt', { ...preview('donation-receipt'), giftAid: false })
    expect(declared.text).toContain('Gift Aid declaration')
    expect(notDeclared.text).not.toContain('Gift Aid')
  })
})

describe('text people supplied is escaped, never markup', () => {
  const script = '<script>alert(1)</script>'
  const img = '<img src=x onerror=alert(1)>'

  test('a donor named <script>', async () => {
    const { html } = await renderEmail('donation-receipt', { ...preview('donation-receipt'), name: script, appealTitle: script })
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).not.toContain('<script')
  })

  test('an appeal update body with an <img> tag, split into paragraphs on blank lines', async () => {
    const { html, text } = await renderEmail('appeal-update', {
      ...preview('appeal-update'),
      updateTitle: script,
      updateBody: `First paragraph.\n\n${img}\n\n\n  Third paragraph,\nwith a line break.`,
    })
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).not.toMatch(/<img|<script/i)
    expect(html).toMatch(/>First paragraph\.<\/p>/)
    expect(html).toMatch(/>&lt;img src=x onerror=alert\(1\)&gt;<\/p>/)
    expect(html).toMatch(/>Third paragraph,<br\/>with a line break\.<\/p>/)
    expect(text).toContain('First paragraph.\n\n<img src=x onerror=alert(1)>\n\nThird paragraph,\nwith a line break.')
  })

  test("an organiser's cancellation message with an <img> tag", async () => {
    const { html } = await renderEmail('event-cancelled', { ...preview('event-cancelled'), message: `Sorry.\n\n${img}`, organiserName: script })
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html).not.toMatch(/<img|<script/i)
  })

  test('markup in names, venues and codes in an event email', async () => {
    const { html } = await renderEmail('registration-confirmed', {
      ...preview('registration-confirmed'),
      name: img,
      eventTitle: script,
      venueName: img,
      venueAddress: `${script}\nLondon`,
      ticketTypeName: img,
      checkinCode: '<b>X</b>',
    })
    expect(html).not.toMatch(/<img|<script|<b>/i)
    expect(html).toContain('&lt;b&gt;X&lt;/b&gt;')
  })
})

describe('the layout', () => {
  test('shows the contact email and charity number only when the organisation has them', async () => {
    const props = preview('waitlist-joined')
    const full = await renderEmail('waitlist-joined', props)
    expect(full.html).toContain(`href="mailto:${props.organisation.contactEmail}"`)
    expect(full.text).toContain(`Registered charity number ${props.organisation.charityNumber}`)

    const bare = await renderEmail('waitlist-joined', {
      ...props,
      organisation: { ...props.organisation, contactEmail: null, charityNumber: null },
    })
    expect(bare.html).not.toContain('mailto:')
    expect(bare.text).not.toContain('charity number')
    expect(bare.text).toContain('We will never share your details.')
  })

  test("uses the organisation's own colours and name", async () => {
    const props = preview('staff-sign-in')
    const organisation = { ...props.organisation, name: 'Amal Relief Fund', primaryColour: '#123abc', accentColour: '#fedcba' }
    const { html } = await renderEmail('staff-sign-in', { ...props, organisation })
    expect(html).toContain('background-color:#123abc')
    expect(html).toContain('#fedcba')
    expect(html).toContain('Amal Relief Fund')
  })

  test('shows event times in the event’s own zone, named', async () => {
    const { text } = await renderEmail('registration-confirmed', {
      ...preview('registration-confirmed'),
      startsAt: '2026-02-11T00:00:00Z',
      endsAt: '2026-02-11T02:00:00Z',
      timeZone: 'America/New_York',
    })
    expect(text).toMatch(/10 February 2026, 19:00 GMT-5 to 21:00 GMT-5 \(New York time\)/)
  })

  test('an offer deadline on the night the clocks change is shown in the zone in force', async () => {
    const { text } = await renderEmail('place-offered', {
      ...preview('place-offered'),
      offerExpiresAt: '2026-10-25T01:30:00Z',
      timeZone: 'Europe/London',
    })
    expect(text).toContain('25 October 2026, 01:30 GMT (London time)')
  })

  test('an online event shows its joining link and a venue event its access notes', async () => {
    const online = await renderEmail('event-reminder', preview('event-reminder'))
    expect(online.text).toContain(`Join online\n${preview('event-reminder').onlineUrl}`)
    const inPerson = await renderEmail('registration-confirmed', preview('registration-confirmed'))
    expect(inPerson.text).toContain('173 Euston Road\nLondon NW1 2BJ')
    expect(inPerson.text).toContain(preview('registration-confirmed').accessNotes)
    expect(inPerson.text).not.toContain('Join online')
  })
})

describe('invalid props are rejected, naming the field', () => {
  const cases: Array<[string, EmailTemplateName, (props: Record<string, any>) => unknown, RegExp]> = [
    ['a negative amount', 'donation-receipt', (p) => ({ ...p, amountMinor: -100 }), /amountMinor/],
    ['a negative refund', 'registration-cancelled', (p) => ({ ...p, refundMinor: -1 }), /refundMinor/],
    ['a negative amount paid', 'registration-confirmed', (p) => ({ ...p, amountPaidMinor: -1000 }), /amountPaidMinor/],
    ['a float amount', 'donation-receipt', (p) => ({ ...p, amountMinor: 25.5 }), /amountMinor: Must be a whole number/],
    ['an amount as a string', 'monthly-gift-receipt', (p) => ({ ...p, amountMinor: '1000' }), /amountMinor/],
    ['a missing contact email field', 'staff-sign-in', (p) => ({ ...p, organisation: { ...p.organisation, contactEmail: undefined } }), /organisation\.contactEmail: Required/],
    ['a contact email that is not one', 'staff-sign-in', (p) => ({ ...p, organisation: { ...p.organisation, contactEmail: 'not-an-email' } }), /organisation\.contactEmail/],
    ['a non-ISO date', 'donation-receipt', (p) => ({ ...p, donatedAt: '14/03/2026' }), /donatedAt: Must be an ISO 8601/],
    ['a date without a zone', 'place-offered', (p) => ({ ...p, offerExpiresAt: '2026-03-12T18:00:00' }), /offerExpiresAt/],
    ['a javascript: link', 'place-offered', (p) => ({ ...p, claimUrl: 'javascript:alert(1)' }), /claimUrl/],
    ['a colour that smuggles CSS', 'waitlist-joined', (p) => ({ ...p, organisation: { ...p.organisation, primaryColour: 'red;background:url(https://tracker.example/p.gif)' } }), /organisation\.primaryColour/],
    ['an unknown time zone', 'event-reminder', (p) => ({ ...p, timeZone: 'Europe/Atlantis' }), /timeZone/],
    ['an unknown currency', 'donation-receipt', (p) => ({ ...p, currency: 'XYZ' }), /currency/],
    ['an event with neither venue nor online link', 'registration-confirmed', (p) => ({ ...p, venueName: null, onlineUrl: null }), /venueName/],
    ['a refund with no currency', 'registration-cancelled', (p) => ({ ...p, currency: undefined }), /currency: Required when refundMinor/],
    ['a missing sign-in link', 'staff-sign-in', (p) => ({ ...p, signInUrl: undefined }), /signInUrl: Required/],
    ['an empty update', 'appeal-update', (p) => ({ ...p, updateBody: '   ' }), /updateBody/],
    ['no props at all', 'waitlist-joined', () => null, /waitlist-joined/],
    ['a joining link for someone on the waiting list', 'event-changed', (p) => ({ ...p, status: 'waitlisted', hasCalendarAttachment: false, mode: 'online', onlineUrl: 'https://meet.example.org/room' }), /onlineUrl: Only a confirmed place/],
  ]

  test.each(cases)('%s (%s)', async (_label, name, change, field) => {
    const props = change(preview(name))
    expect(() => parseEmailProps(name, props)).toThrowError(field)
    expect(() => parseEmailProps(name, props)).toThrowError(EmailPropsError)
    await expect(renderEmail(name, props)).rejects.toThrowError(field)
  })

  test('the error lists every problem and names the template', () => {
    try {
      parseEmailProps('donation-receipt', { ...preview('donation-receipt'), amountMinor: -1, donatedAt: 'yesterday' })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(EmailPropsError)
      const problems = (error as EmailPropsError).problems
      expect(problems.some((problem) => problem.startsWith('amountMinor:'))).toBe(true)
      expect(problems.some((problem) => problem.startsWith('donatedAt:'))).toBe(true)
      expect((error as Error).message).toContain('"donation-receipt"')
    }
  })

  test('an unknown template name is refused', async () => {
    expect(() => parseEmailProps('no-such-email' as EmailTemplateName, {})).toThrowError(/Unknown email template "no-such-email"/)
    await expect(renderEmail('no-such-email' as EmailTemplateName, {})).rejects.toThrowError(/Unknown email template/)
  })

  test('defaults are filled in when the email is enqueued', () => {
    const { feeCoverMinor: _omit, timeZone: _zone, ...rest } = preview('donation-receipt')
    const parsed = parseEmailProps('donation-receipt', rest)
    expect(parsed.feeCoverMinor).toBe(0)
    expect(parsed.timeZone).toBe('Europe/London')
  })
})

test('no rendered email contains a NUL character, whatever the length of its preview text', async () => {
  for (const name of emailTemplateNames) {
    for (const extra of ['', 'x', 'xx', 'xxx', 'a longer line of extra words']) {
      const props = { ...(emailTemplates[name].previewProps as Record<string, unknown>) }
      if (typeof props.name === 'string') props.name = `${props.name}${extra}`
      const rendered = await renderEmail(name, props)
      expect(rendered.html.includes('\u0000'), `${name} html`).toBe(false)
      expect(rendered.text.includes('\u0000'), `${name} text`).toBe(false)
    }
  }
})

test('a refund because the last place had gone says so, and does not thank the person for cancelling', async () => {
  const props = { ...(emailTemplates['registration-cancelled'].previewProps as Record<string, unknown>), reason: 'no-place-left' }
  const { subject, text } = await renderEmail('registration-cancelled', props)
  expect(subject).toMatch(/^Sorry, no place was left/)
  expect(text).toContain('the last place had gone')
  expect(text).not.toContain('Thank you for letting us know')
})

test('a refund that ends the place says it was released, and a later refund gives the total so far', async () => {
  const props = { ...(emailTemplates['registration-refunded'].previewProps as Record<string, unknown>), refundMinor: 1000, totalRefundedMinor: 1500, placeReleased: true }
  const { subject, text } = await renderEmail('registration-refunded', props)
  expect(subject).toMatch(/^£10\.00 refunded: /)
  expect(text).toContain('your place has been released')
  expect(text).not.toContain('still booked')
  expect(text).toMatch(/Refunded in all\s+£15\.00/)
  expect(() => parseEmailProps('registration-refunded', { ...props, totalRefundedMinor: 900 })).toThrowError(/totalRefundedMinor/)
})
