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

/**
 * Provider webhooks (`/webhooks/<provider>`) are posted server to server and proven by their
 * signature, not by where they come from: SPEC "Subscriptions and webhooks" gives them no
 * cross-site check (a forged post from a browser fails the signature like any other).
 */
export function isProviderWebhookPath(pathname: string): boolean {
  return pathname.startsWith("/webhooks/");
}

export function isCrossSiteWrite(request: Request, appOrigin: string): boolean {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return false;
  return !isProviderWebhookPath(new URL(request.url).pathname) && isCrossSiteRequest(request, appOrigin);
}
