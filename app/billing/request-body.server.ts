/**
 * Reads a request body up to a limit, whether or not it is declared (chunked
 * bodies have no Content-Length): the reader stops at the first byte over.
 */
export async function readBodyUpTo(request: Request, limit: number): Promise<Buffer | "too-large"> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > limit) return "too-large";
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return "too-large";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
