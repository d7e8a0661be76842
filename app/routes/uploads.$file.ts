import type { LoaderFunctionArgs } from '@remix-run/node'
import { getDb } from '#app/utils/db.server.ts'
import { readUpload } from '#app/modules/appeals/photos/storage.server.ts'

/**
 * Uploaded appeal photos, served only while an appeal uses them. A day's cache at most, and not
 * immutable: a photo taken down (someone could be recognised in it) must stop being shown soon.
 * The type comes from what was checked at upload, and nosniff stops a browser guessing.
 */
export async function loader({ params }: LoaderFunctionArgs) {
  const upload = await readUpload(getDb(), params.file ?? '')
  if (!upload) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  return new Response(new Uint8Array(upload.bytes), {
    headers: {
      'Content-Type': upload.contentType,
      'Content-Length': String(upload.bytes.byteLength),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'public, max-age=86400',
      // Opened on its own, the file is an image and nothing else.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    },
  })
}
