/**
 * Browsers say where a request comes from (`Origin`, `Sec-Fetch-Site`). A
 * state-changing request from any other site is refused before any work, so
 * a page elsewhere cannot log a user in or out or open their billing portal.
 * Requests without either header (curl, server-to-server) are not
 * browser-driven cross-site requests and pass.
 */
export function isCrossSiteRequest(request: Request, appOrigin: string): boolean {
  const origin = request.headers.get("Origin");
  if (origin !== null && origin !== appOrigin) return true;
  const site = request.headers.get("Sec-Fetch-Site");
  return site !== null && site !== "same-origin" && site !== "none";
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isCrossSiteWrite(request: Request, appOrigin: string): boolean {
  return !SAFE_METHODS.has(request.method.toUpperCase()) && isCrossSiteRequest(request, appOrigin);
}
