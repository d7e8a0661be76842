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
    photo_path: '/images/appeals/walk-again.jpg',
    photo_alt: 'An illustration of a path winding towards a rising sun',
    currency: 'GBP',
    goal_minor: 1_000_000,
    suggested_amounts_minor: [1_000, 2_500, 5_000, 10_000],
    featured: true,
    closesInDays: 75,
    raisedShare: 0.62,
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
    photo_path: '/images/appeals/medical-care.jpg',
    photo_alt: 'An illustration of two hands holding a small green plant',
    currency: 'GBP',
    goal_minor: 600_000,
    suggested_amounts_minor: [1_500, 3_000, 6_000, 12_000],
    featured: true,
    closesInDays: 40,
    raisedShare: 0.41,
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
      '',
      '## Why this appeal is in US dollars',
      '',
      'The builders near Samir\'s home quote and are paid in US dollars, so this appeal raises dollars: every gift buys the same amount of work whatever the pound does. Your bank converts your gift from pounds when you give.',
    ].join('\n'),
    photo_path: '/images/appeals/rebuild-home.jpg',
    photo_alt: 'An illustration of a small house with a new roof under a blue sky',
    currency: 'USD',
    goal_minor: 800_000,
    suggested_amounts_minor: [2_500, 5_000, 10_000, 25_000],
    featured: true,
    closesInDays: 120,
    raisedShare: 0.78,
  },
] as const

/**
 * The newest gifts on the demo appeals, named so tests can find them (cs_demo_1 is Aisha's, for
 * the thank-you page). Older gifts come from `demoCrowd`, so the appeals look like live campaigns.
 */
const namedGifts = [
  { appeal: 'walk-again-yusuf', name: 'Aisha R.', amount: 5_000, showName: true, showAmount: true, message: 'Walk tall, brother. We are with you.' },
  { appeal: 'walk-again-yusuf', name: 'Tom W.', amount: 2_500, showName: true, showAmount: false, message: null },
  { appeal: 'walk-again-yusuf', name: 'Private donor', amount: 10_000, showName: false, showAmount: false, message: null },
  { appeal: 'medical-care-karim', name: 'Mariam K.', amount: 3_000, showName: true, showAmount: true, message: 'Praying for a full recovery.' },
  { appeal: 'rebuild-home-samir', name: 'Daniel P.', amount: 10_000, showName: false, showAmount: true, message: 'For the children.' },
] as const

type DemoGift = {
  appeal: string
  name: string
  amount: number
  showName: boolean
  showAmount: boolean
  message: string | null
  /** How long before `now` the gift was confirmed. */
  ageMs: number
}

const CROWD_NAMES = [
  'Zainab H.', 'Imran S.', 'Fatima B.', 'Omar A.', 'Hannah L.', 'Bilal M.', 'Ruqayyah N.', 'James O.', 'Sumayyah T.',
  'Hamza Q.', 'Khadija F.', 'Ibrahim D.', 'Sarah J.', 'Yasmin C.', 'Adam E.', 'Noor K.', 'Rachel G.', 'Usman P.',
  'Maryam V.', 'Tariq R.', 'Asma Y.', 'Peter H.', 'Safiya W.', 'Idris L.', 'Amina Z.', 'Musa I.', 'Halima S.',
  'Ali B.', 'Layla M.', 'Chris N.', 'Hafsa T.', 'Zakariya A.', 'Iqra D.', 'Sulaiman K.', 'Eleanor F.', 'Abdullah R.',
]

const CROWD_MESSAGES = [
  'May you find ease after hardship.',
  'From all of us at the Thursday study circle.',
  'Justice delayed is still worth fighting for.',
  'Small, but with all our hearts.',
  'In memory of my father, who never stopped speaking up.',
  'Stay strong. You are not forgotten.',
  'Collected by the students of our Saturday school.',
  'Thank you for telling his story.',
  'Wishing you and your family peace.',
  'Sharing this with everyone I know.',
]

/** Gift sizes, most of them small, as a real appeal sees them (minor units; the same numbers in dollars). */
const CROWD_AMOUNTS = [1_000, 1_000, 1_000, 1_500, 2_000, 2_000, 2_500, 2_500, 2_500, 3_000, 5_000, 5_000, 5_000, 7_500, 10_000, 10_000, 15_000, 25_000, 50_000]

/** A small seeded random number generator (mulberry32): the same demo every time it is loaded. */
function seededRandom(seed: number) {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let value = Math.imul(state ^ (state >>> 15), 1 | state)
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * Older gifts for each appeal, until it reaches its `raisedShare` of the goal: spread over the five
 * weeks since it opened (40 days ago), more of them lately (as an appeal that is being shared), a third of the
 * donors anonymous, half showing the amount, about one in ten with a message.
 */
export function demoCrowd(): DemoGift[] {
  const gifts: DemoGift[] = []
  for (const [appealIndex, appeal] of demoAppeals.entries()) {
    const random = seededRandom(1_013 + appealIndex * 7_919)
    let raised = namedGifts.filter((gift) => gift.appeal === appeal.slug).reduce((sum, gift) => sum + gift.amount, 0)
    const target = Math.round(appeal.goal_minor * appeal.raisedShare)
    while (raised < target) {
      const amount = CROWD_AMOUNTS[Math.floor(random() * CROWD_AMOUNTS.length)]!
      const showName = random() > 0.33
      gifts.push({
        appeal: appeal.slug,
        name: CROWD_NAMES[Math.floor(random() * CROWD_NAMES.length)]!,
        amount,
        showName,
        showAmount: random() > 0.5,
        message: random() < 0.1 ? CROWD_MESSAGES[Math.floor(random() * CROWD_MESSAGES.length)]! : null,
        // From an hour to 38 days ago, denser towards today, as when an appeal is being passed on.
        ageMs: (1 / 24 + 38 * random() ** 1.7) * DAY,
      })
      raised += amount
    }
  }
  return gifts
}

/** Every demo gift, named ones first (confirmed 2 to 10 hours ago, so they lead the supporters' list), then the crowd's. */
export function demoGifts(): DemoGift[] {
  return [...namedGifts.map((gift, index) => ({ ...gift, ageMs: ((index + 1) * 2 * DAY) / 24 })), ...demoCrowd()]
}

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
        // Demo values: a real organisation sets its own (README, "Organisation settings").
        charity_number: '0000000 (demo)',
        registered_address: '1 Example Street, London E1 0AA (demo)',
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
    for (const { closesInDays, raisedShare: _raisedShare, ...appeal } of demoAppeals) {
      const row = await trx
        .insertInto('appeals')
        .values({
          ...appeal,
          suggested_amounts_minor: [...appeal.suggested_amounts_minor],
          status: 'published',
          published_at: new Date(now.getTime() - 40 * DAY),
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

    // In three statements, not three per gift: a few hundred gifts load in a moment.
    const gifts = demoGifts()
    const emailOf = (index: number) => `demo-donor-${index + 1}@example.org`
    const supporters = await trx
      .insertInto('supporters')
      .values(gifts.map((gift, index) => ({ name: gift.name, email: emailOf(index) })))
      .returning(['id', 'email'])
      .execute()
    const supporterIds = new Map(supporters.map((row) => [row.email, row.id]))
    const donations = await trx
      .insertInto('donations')
      .values(
        gifts.map((gift, index) => {
          const appeal = appealIds.get(gift.appeal)!
          const confirmedAt = new Date(now.getTime() - gift.ageMs)
          return {
            appeal_id: appeal.id,
            supporter_id: supporterIds.get(emailOf(index))!,
            frequency: 'one_off' as const,
            amount_minor: gift.amount,
            currency: appeal.currency,
            status: 'confirmed' as const,
            donor_name: gift.name,
            donor_email: emailOf(index),
            message: gift.message,
            show_name: gift.showName,
            show_amount: gift.showAmount,
            show_message: gift.message !== null,
            stripe_checkout_session_id: `cs_demo_${index + 1}`,
            stripe_payment_intent_id: `pi_demo_${index + 1}`,
            stripe_charge_id: `ch_demo_${index + 1}`,
            confirmed_at: confirmedAt,
            created_at: confirmedAt,
          }
        }),
      )
      .returning(['id', 'appeal_id', 'amount_minor', 'currency', 'stripe_charge_id', 'confirmed_at'])
      .execute()
    await trx
      .insertInto('ledger_entries')
      .values(
        donations.map((donation) => ({
          donation_id: donation.id,
          appeal_id: donation.appeal_id,
          kind: 'charge' as const,
          amount_minor: donation.amount_minor,
          currency: donation.currency,
          stripe_object_id: donation.stripe_charge_id!,
          occurred_at: donation.confirmed_at!,
        })),
      )
      .execute()

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
      // Our own drawings (public/images/events), with a path and no id, as the demo appeals' photos.
      cover_photo_path: '/images/events/witness-evening.jpg',
      cover_photo_alt: 'Rows of chairs facing a small stage',
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
      cover_photo_path: '/images/events/online-briefing.jpg',
      cover_photo_alt: 'A screen of faces in a video call',
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
      cover_photo_path: '/images/events/fundraising-dinner.jpg',
      cover_photo_alt: 'Round dinner tables set for guests',
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
