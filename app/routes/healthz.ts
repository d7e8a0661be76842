import { pingDatabase } from '#app/utils/db.server.ts'

/** For load balancers and uptime checks: 200 when the database answers, 503 when it does not. */
export async function loader() {
  const database = await pingDatabase().catch(() => false)
  return new Response(JSON.stringify({ status: database ? 'ok' : 'unavailable', database }), {
    status: database ? 200 : 503,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  })
}
