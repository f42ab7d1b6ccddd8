/**
 * The request's form fields, or null when the body is not a form at all (JSON,
 * plain text, no Content-Type, a broken multipart): `request.formData()`
 * throws on those, and a page's action should answer 400, not 500.
 */
export async function readForm(request: Request): Promise<FormData | null> {
  try {
    return await request.formData();
  } catch {
    return null;
  }
}
