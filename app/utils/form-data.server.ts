/**
 * The posted form, or a 400: a body that is not a form (JSON, a broken multipart, the wrong
 * content type) is a bad request, not a crash of ours.
 */
export async function readFormData(request: Request): Promise<FormData> {
  try {
    return await request.formData()
  } catch {
    throw new Response('This request did not carry a form', { status: 400, headers: { 'Cache-Control': 'no-store' } })
  }
}
