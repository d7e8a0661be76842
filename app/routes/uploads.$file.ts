import type { LoaderFunctionArgs } from '@remix-run/node'
import { readUpload } from '#app/modules/appeals/manage.server.ts'

/**
 * Uploaded appeal photos. Names are random and never reused, so a photo can be cached for a
 * year; the type comes from what was checked at upload, and nosniff stops a browser guessing.
 */
export async function loader({ params }: LoaderFunctionArgs) {
  const upload = await readUpload(params.file ?? '')
  if (!upload) throw new Response('Not found', { status: 404, headers: { 'Cache-Control': 'no-store' } })
  return new Response(new Uint8Array(upload.bytes), {
    headers: {
      'Content-Type': upload.contentType,
      'Content-Length': String(upload.bytes.byteLength),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'public, max-age=31536000, immutable',
      // Opened on its own, the file is an image and nothing else.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    },
  })
}
