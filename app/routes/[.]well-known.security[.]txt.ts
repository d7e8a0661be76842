import { getSecurityTxt } from '#app/modules/organisation/security-txt.server.ts'
import { getDb } from '#app/utils/db.server.ts'
import { getEnv } from '#app/utils/env.server.ts'

/** /.well-known/security.txt: where to report a vulnerability (RFC 9116). */
export async function loader() {
  const text = await getSecurityTxt(getDb(), getEnv())
  if (text === undefined) {
    return new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } })
  }
  // The same for everyone; an hour keeps a changed contact from lingering long.
  return new Response(text, { headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'public, max-age=3600' } })
}
