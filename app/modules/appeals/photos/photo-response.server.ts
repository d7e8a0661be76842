import type { Database } from '#app/utils/db.server.ts'
import { readPhotoBytes, type ServedPhoto } from '#app/modules/appeals/photos/storage.server.ts'

/** Served as a year in any cache: the address holds the content hash, so new bytes get a new address. */
export const IMMUTABLE = 'public, max-age=31536000, immutable'

/** Whether If-None-Match names this ETag (weak or strong, in a list, or `*`). */
function matches(ifNoneMatch: string | null, etag: string) {
  if (!ifNoneMatch) return false
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim()
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag
  })
}

/**
 * A stored photo as an HTTP answer: the type checked at upload (and nosniff, so a browser never
 * guesses another), the content hash as a strong ETag, and 304 when the browser already has it.
 * Opened on its own, the file is an image and nothing else (the sandbox CSP).
 */
export async function photoResponse(db: Database, request: Request, photo: ServedPhoto | null, cacheControl: string): Promise<Response> {
  const notFound = () => new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store', 'Content-Type': 'text/plain; charset=utf-8' } })
  if (!photo) return notFound()
  const etag = `"${photo.sha256}"`
  const headers = {
    ETag: etag,
    'Cache-Control': cacheControl,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  }
  if (matches(request.headers.get('If-None-Match'), etag)) return new Response(null, { status: 304, headers })
  const bytes = await readPhotoBytes(db, photo.id)
  if (!bytes) return notFound()
  return new Response(new Uint8Array(bytes), {
    headers: { ...headers, 'Content-Type': photo.contentType, 'Content-Length': String(bytes.byteLength) },
  })
}
