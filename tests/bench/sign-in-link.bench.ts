/**
 * `npm run bench:sign-in`: how long the staff sign-in form takes to answer a link request for a
 * staff member's address and for a stranger's (issue 14: it must not tell them apart), on the
 * PostgreSQL at 127.0.0.1:5432 (or BENCH_DATABASE_URL). The action is called directly, the two
 * kinds interleaved, each from its own client address. Prints p50 and p95 of each and the
 * difference of the medians. The behaviour (the same writes either way) is tested in
 * tests/integration/staff-auth.test.ts; this only measures.
 *
 * Environment: BENCH_REQUESTS (default 300 of each).
 */
import { performance } from 'node:perf_hooks'
import { createBenchDatabase, printTable } from './bench-database.ts'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300)
const WARM_UP = 30

process.env.NODE_ENV = 'test'
process.env.LOG_LEVEL = 'warn'
const bench = await createBenchDatabase('sign_in')
try {
  process.env.DATABASE_URL = bench.url
  const { resetEnvForTests } = await import('#app/utils/env.server.ts')
  resetEnvForTests()
  const { getDb, closeDb } = await import('#app/utils/db.server.ts')
  const { upsertStaffUser } = await import('#app/modules/staff/staff-users.server.ts')
  const { action } = await import('#app/routes/staff_.sign-in.tsx')
  const { CLIENT_IP_HEADER } = await import('#app/utils/client-ip.server.ts')
  const db = getDb()
  await db.insertInto('organisation').values({ id: 1, name: 'Bench', short_name: 'Bench', vision: 'v', mission: 'm' }).execute()
  const staffEmail = 'bench-staff@example.org'
  // A fixed address too, so the two differ only in whether a staff member has it.
  const strangerEmail = 'bench-stranger@example.org'
  await upsertStaffUser(db, { email: staffEmail, role: 'staff', name: 'Bench' })

  let counter = 0
  async function timeRequest(email: string) {
    counter += 1
    const request = new Request('http://localhost:3000/staff/sign-in', {
      method: 'POST',
      headers: { Origin: 'http://localhost:3000', 'Sec-Fetch-Site': 'same-origin', [CLIENT_IP_HEADER]: `198.18.${counter >> 8}.${counter & 255}` },
      body: new URLSearchParams({ intent: 'link', email }),
    })
    const started = performance.now()
    await action({ request, params: {}, context: {} })
    return performance.now() - started
  }
  for (let index = 0; index < WARM_UP; index++) await timeRequest(index % 2 ? staffEmail : `warm-${index}@example.org`)
  const staff: number[] = []
  const stranger: number[] = []
  // Which goes first alternates, so neither kind always follows the other.
  for (let index = 0; index < REQUESTS; index++) {
    if (index % 2 === 0) {
      staff.push(await timeRequest(staffEmail))
      stranger.push(await timeRequest(strangerEmail))
    } else {
      stranger.push(await timeRequest(strangerEmail))
      staff.push(await timeRequest(staffEmail))
    }
  }
  const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!
  printTable([
    { addresses: 'staff', requests: REQUESTS, p50_ms: percentile(staff, 0.5).toFixed(2), p95_ms: percentile(staff, 0.95).toFixed(2) },
    { addresses: 'stranger', requests: REQUESTS, p50_ms: percentile(stranger, 0.5).toFixed(2), p95_ms: percentile(stranger, 0.95).toFixed(2) },
  ])
  console.log(`median difference (staff − stranger): ${(percentile(staff, 0.5) - percentile(stranger, 0.5)).toFixed(2)} ms`)
  await closeDb()
} finally {
  await bench.drop()
}
