/**
 * Headers every response carries (SPEC "Server, proxies and operations"):
 * the server entry sets them on everything it sends; HTML pages add a
 * Content-Security-Policy built around the response's nonce.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
};

/**
 * Scripts only from this origin or inline with this response's nonce (React
 * Router's hydration scripts get it through `<Scripts nonce>`). No
 * `form-action`: the billing form's answer is a redirect to the provider's
 * portal, and browsers apply `form-action` to redirects too.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
