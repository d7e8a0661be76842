import type { LoaderFunctionArgs } from '@remix-run/node'
import { getDb } from '#app/utils/db.server.ts'
import { readPhoto } from '#app/modules/appeals/photos/storage.server.ts'
import { IMMUTABLE, photoResponse } from '#app/modules/appeals/photos/photo-response.server.ts'

/**
 * Appeal photos, from the database, at `/photos/<id>.<sha256>.<ext>`, only while an appeal uses
 * them. The hash in the address is what makes a year's immutable cache safe: a replaced photo has
 * a new address, and the old one answers 404 from the moment the change commits.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const db = getDb()
  return photoResponse(db, request, await readPhoto(db, params.file ?? ''), IMMUTABLE)
}
