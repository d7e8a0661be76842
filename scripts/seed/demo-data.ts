import type { Kysely } from 'kysely'
import type { DB } from '#db/schema.ts'
import { seedDemoStaff } from './demo-staff.ts'
import { rebuildKeptUpTotals } from './kept-up-totals.ts'
import { organisationPage } from './organisation-page.ts'

/**
 * Demo data for a laptop and for the tests: the organisation's profile, three appeals for
 * fictional former prisoners (no real person's name), and three events placed relative to today
 * so that "upcoming" stays upcoming.
 */

const DAY = 24 * 60 * 60 * 1000

/** A wall-clock time in London on a day relative to `now`, as a UTC instant. */
export function londonTime(now: Date, daysFromNow: number, hour: number, minute = 0): Date {
  const day = new Date(now.getTime() + daysFromNow * DAY)
  const utcGuess = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour, minute)
  // London is UTC+0 in winter and UTC+1 in summer; read the offset Intl gives for that instant.
  const londonHour = Number(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', hourCycle: 'h23' }).format(
      new Date(utcGuess),
    ),
  )
  const offsetHours = (londonHour - hour + 24) % 24
  return new Date(utcGuess - offsetHours * 60 * 60 * 1000)
}

export const demoAppeals = [
  {
    slug: 'walk-again-yusuf',
    title: 'Help Yusuf walk again',
    summary:
      'Eleven years of detention without charge left Yusuf unable to walk unaided. Physiotherapy and a specialist brace can give him his independence back.',
    beneficiary_name: 'Yusuf',
    beneficiary_is_pseudonym: true,
    story_markdown: [
      'Yusuf was detained in 2009 and held for eleven years without charge or trial. He was never told what he was accused of.',
      '',
      'Years of stress positions and medical neglect damaged his spine and knees. Since his release he has lived with constant pain, and he cannot walk more than a few steps without help.',
      '',
      '## What your gift pays for',
      '',
      '- **Twelve months of physiotherapy** with a specialist in rehabilitation after torture',
      '- **A custom leg brace** and the fittings as his strength returns',
      '- **Transport** to and from his appointments',
      '',
      '"I want to walk my daughter to school," Yusuf told us. "That is all."',
      '',
      '*Yusuf is a pseudonym: his family still lives where he was detained.*',
    ].join('\n'),
    photo_path: '/images/appeals/walk-again.svg',
    photo_alt: 'An illustration of a path winding towards a rising sun',
    currency: 'GBP',
    goal_minor: 2_500_000,
    suggested_amounts_minor: [1_000, 2_500, 5_000, 10_000],
    featured: true,
    closesInDays: 75,
  },
  {
    slug: 'medical-care-karim',
    title: 'Medical care for Karim after release',
    summary:
      'Karim came home with untreated injuries and severe trauma. Your gift pays for the surgery and the specialist counselling he needs.',
    beneficiary_name: 'Karim',
    beneficiary_is_pseudonym: true,
    story_markdown: [
      'Karim was released last spring after six years in administrative detention. He came home with a shoulder injury that was never treated and with nightmares that have not stopped.',
      '',
      'Surgeons have told him the shoulder can be repaired. A counsellor who works with survivors of torture has offered him a place.',
      '',
      '## Where the money goes',
      '',
      '1. Shoulder surgery and aftercare',
      '2. Forty sessions of trauma counselling',
      '3. Medication for the first year',
    ].join('\n'),
    photo_path: '/images/appeals/medical-care.svg',
    photo_alt: 'An illustration of two hands holding a small green plant',
    currency: 'GBP',
    goal_minor: 1_200_000,
    suggested_amounts_minor: [1_500, 3_000, 6_000, 12_000],
    featured: true,
    closesInDays: 40,
  },
  {
    slug: 'rebuild-home-samir',
    title: "Rebuild Samir's family home",
    summary:
      "While Samir was held abroad, his family's home fell into ruin. Help him put a roof over his children's heads again.",
    beneficiary_name: 'Samir',
    beneficiary_is_pseudonym: true,
    story_markdown: [
      'Samir was transferred between three countries over nine years before he was finally cleared and released.',
      '',
      'His wife kept their four children together, but without income the family could not keep up their house. The roof has collapsed and the walls are unsafe.',
      '',
      'Local builders have quoted for a new roof, repaired walls, water and electricity.',
    ].join('\n'),
    photo_path: '/images/appeals/rebuild-home.svg',
    photo_alt: 'An illustration of a small house with a new roof under a blue sky',
    currency: 'USD',
    goal_minor: 4_000_000,
    suggested_amounts_minor: [2_500, 5_000, 10_000, 25_000],
    featured: true,
    closesInDays: 120,
  },
] as const

/** Gifts already confirmed on the demo appeals, so pages show progress from the start. */
const demoGifts = [
  { appeal: 'walk-again-yusuf', name: 'Aisha R.', amount: 5_000, showName: true, showAmount: true, message: 'Walk tall, brother. We are with you.' },
  { appeal: 'walk-again-yusuf', name: 'Tom W.', amount: 2_500, showName: true, showAmount: false, message: null },
  { appeal: 'walk-again-yusuf', name: 'Private donor', amount: 10_000, showName: false, showAmount: false, message: null },
  { appeal: 'medical-care-karim', name: 'Mariam K.', amount: 3_000, showName: true, showAmount: true, message: 'Praying for a full recovery.' },
  { appeal: 'rebuild-home-samir', name: 'Daniel P.', amount: 10_000, showName: false, showAmount: true, message: 'For the children.' },
] as const

export async function seedDemoData(db: Kysely<DB>, now = new Date()): Promise<{ seeded: boolean }> {
  return db.transaction().execute(async (trx) => {
    // The organisation row is the marker: a database that has one is not seeded again.
    const inserted = await trx
      .insertInto('organisation')
      .values({
        id: 1,
        name: 'CAGE',
        short_name: 'CAGE',
        tagline: 'Campaigning for those harmed by the War on Terror',
        vision: organisationPage.vision,
        mission: organisationPage.mission,
        focus_areas: [...organisationPage.focusAreas],
        contact_email: 'contact@example.org',
        gift_aid_enabled: true,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!inserted) return { seeded: false }

    await trx
      .insertInto('testimonials')
      .values(
        organisationPage.testimonials.map((testimonial, position) => ({
          quote: testimonial.quote,
          author: testimonial.author,
          author_context: testimonial.authorContext,
          position,
        })),
      )
      .execute()

    const appealIds = new Map<string, { id: string; currency: string }>()
    for (const { closesInDays, ...appeal } of demoAppeals) {
      const row = await trx
        .insertInto('appeals')
        .values({
          ...appeal,
          suggested_amounts_minor: [...appeal.suggested_amounts_minor],
          status: 'published',
          published_at: new Date(now.getTime() - 20 * DAY),
          closes_at: new Date(now.getTime() + closesInDays * DAY),
        })
        .returning(['id', 'currency'])
        .executeTakeFirstOrThrow()
      appealIds.set(appeal.slug, row)
    }

    await trx
      .insertInto('appeal_updates')
      .values({
        appeal_id: appealIds.get('walk-again-yusuf')!.id,
        title: 'First physiotherapy assessment',
        body_markdown:
          'Thanks to your first gifts, Yusuf has had his first assessment. His physiotherapist believes he can walk with a stick within six months.',
        published_at: new Date(now.getTime() - 5 * DAY),
      })
      .execute()

    for (const [index, gift] of demoGifts.entries()) {
      const appeal = appealIds.get(gift.appeal)!
      const confirmedAt = new Date(now.getTime() - (index + 1) * DAY)
      const supporter = await trx
        .insertInto('supporters')
        .values({ name: gift.name, email: `demo-donor-${index + 1}@example.org` })
        .returning('id')
        .executeTakeFirstOrThrow()
      const donation = await trx
        .insertInto('donations')
        .values({
          appeal_id: appeal.id,
          supporter_id: supporter.id,
          frequency: 'one_off',
          amount_minor: gift.amount,
          currency: appeal.currency,
          status: 'confirmed',
          donor_name: gift.name,
          donor_email: `demo-donor-${index + 1}@example.org`,
          message: gift.message,
          show_name: gift.showName,
          show_amount: gift.showAmount,
          show_message: gift.message !== null,
          stripe_checkout_session_id: `cs_demo_${index + 1}`,
          stripe_payment_intent_id: `pi_demo_${index + 1}`,
          stripe_charge_id: `ch_demo_${index + 1}`,
          confirmed_at: confirmedAt,
          created_at: confirmedAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await trx
        .insertInto('ledger_entries')
        .values({
          donation_id: donation.id,
          appeal_id: appeal.id,
          kind: 'charge',
          amount_minor: gift.amount,
          currency: appeal.currency,
          stripe_object_id: `ch_demo_${index + 1}`,
          occurred_at: confirmedAt,
        })
        .execute()
    }

    await rebuildKeptUpTotals(trx)

    await seedDemoEvents(trx, now)
    await seedDemoStaff(trx)
    return { seeded: true }
  })
}

async function seedDemoEvents(trx: Kysely<DB>, now: Date) {
  const witness = await trx
    .insertInto('events')
    .values({
      slug: 'witness-testimonies-evening',
      title: 'Witness: an evening of testimonies from former detainees',
      summary:
        'Three men held without trial tell their stories in their own words, followed by questions from the audience.',
      description_markdown: [
        'Join us for an evening of first-hand testimony. Three former detainees, held for a combined twenty-six years without trial, speak about detention, release and rebuilding a life.',
        '',
        'The talks are followed by questions from the audience and tea.',
        '',
        '**Photography and recording are not allowed**, to protect the speakers and their families.',
      ].join('\n'),
      starts_at: londonTime(now, 21, 18, 30),
      ends_at: londonTime(now, 21, 21, 0),
      time_zone: 'Europe/London',
      mode: 'in_person',
      venue_name: 'Friends Meeting House, Room 3',
      venue_address: '173 Euston Road, London NW1 2BJ',
      access_notes: 'Step-free access from the street; an accessible toilet on the same floor; a hearing loop in the room.',
      organiser_name: 'CAGE',
      capacity: 12,
      max_per_order: 4,
      status: 'published',
      featured: true,
      published_at: new Date(now.getTime() - 10 * DAY),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  await trx
    .insertInto('ticket_types')
    .values([
      { event_id: witness.id, name: 'Free place', kind: 'free', currency: 'GBP', position: 0 },
      {
        event_id: witness.id,
        name: 'Pay what you can',
        kind: 'pay_what_you_can',
        min_price_minor: 300,
        price_minor: 1_000,
        currency: 'GBP',
        position: 1,
      },
    ])
    .execute()

  const briefing = await trx
    .insertInto('events')
    .values({
      slug: 'online-briefing-enforced-disappearances',
      title: 'Online briefing: enforced disappearances and how to respond',
      summary:
        'Lawyers and families explain what to do in the first hours after someone disappears into detention.',
      description_markdown: [
        'A practical online briefing for families, community workers and lawyers.',
        '',
        '- What an enforced disappearance is, in law',
        '- The first 48 hours: who to call and what to record',
        '- Working with the UN Working Group on Enforced or Involuntary Disappearances',
        '',
        'The joining link is sent to registered participants only.',
      ].join('\n'),
      starts_at: londonTime(now, 35, 19, 0),
      ends_at: londonTime(now, 35, 20, 30),
      time_zone: 'Europe/London',
      mode: 'online',
      online_url: 'https://meet.example.org/enforced-disappearances-briefing',
      organiser_name: 'CAGE',
      capacity: 200,
      max_per_order: 1,
      status: 'published',
      published_at: new Date(now.getTime() - 3 * DAY),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  await trx
    .insertInto('ticket_types')
    .values({ event_id: briefing.id, name: 'Free registration', kind: 'free', currency: 'GBP' })
    .execute()

  const dinner = await trx
    .insertInto('events')
    .values({
      slug: 'annual-fundraising-dinner',
      title: 'Annual fundraising dinner',
      summary: 'Our yearly dinner for supporters, with speakers and an auction in aid of our appeals.',
      description_markdown: 'An evening with supporters, speakers and a charity auction.',
      starts_at: londonTime(now, -60, 19, 0),
      ends_at: londonTime(now, -60, 22, 30),
      time_zone: 'Europe/London',
      mode: 'in_person',
      venue_name: 'Bishopsgate Institute',
      venue_address: '230 Bishopsgate, London EC2M 4QH',
      organiser_name: 'CAGE',
      capacity: 120,
      max_per_order: 8,
      status: 'published',
      published_at: new Date(now.getTime() - 100 * DAY),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  await trx
    .insertInto('ticket_types')
    .values({ event_id: dinner.id, name: 'Dinner ticket', kind: 'paid', price_minor: 4_500, currency: 'GBP' })
    .execute()
}
