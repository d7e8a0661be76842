/** The most a webhook's body may be: a provider's event is a few kilobytes. */
export const WEBHOOK_BODY_MAX_BYTES = 1024 * 1024
/** The most a staff appeal form may send: a photo (5 MB at most, PHOTO_MAX_BYTES) and the story. */
export const PHOTO_FORM_BODY_MAX_BYTES = 8 * 1024 * 1024

/**
 * A request's body as text, or a 413 thrown as a response once it passes `limitBytes`. A declared
 * Content-Length over the limit is refused before a byte is read; a body sent without one (chunked)
 * is read only up to the limit, so a huge body costs us no more than the limit in memory.
 */
export async function readTextWithLimit(request: Request, limitBytes: number): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limitBytes) throw tooLarge(limitBytes)
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limitBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(limitBytes)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

function tooLarge(limitBytes: number) {
  const limit = limitBytes >= 1024 * 1024 ? `${limitBytes / (1024 * 1024)} MB` : `${Math.ceil(limitBytes / 1024)} KB`
  return new Response(JSON.stringify({ message: `The request body is larger than ${limit}` }), {
    status: 413,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  })
}
