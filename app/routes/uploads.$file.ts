import type { LoaderFunctionArgs } from '@remix-run/node'
import { getDb } from '#app/utils/db.server.ts'
import { readImportedUpload } from '#app/modules/appeals/photos/storage.server.ts'
import { photoResponse } from '#app/modules/appeals/photos/photo-response.server.ts'

/**
 * The addresses photos had before they moved into the database (`/uploads/<name>`), kept for
 * links already shared (share previews, emails): served from the imported row while an appeal
 * uses it. Not immutable: the address does not change with the bytes, so a day at most.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const db = getDb()
  return photoResponse(db, request, await readImportedUpload(db, params.file ?? ''), 'public, max-age=86400')
}
