/**
 * The one policy for every URL the app sends a browser to on someone else's
 * say-so: the login's `redirectTo` and the billing portal's `returnUrl`. An
 * open redirect here would let anyone craft a link that ends on their site,
 * so both doors ask the same question, "is this a path on this app?", and
 * the return URL adds only an allow-list of absolute origins on top.
 */

const MAX_LENGTH = 2048;
/** Decoding stops here: a value still changing after this many rounds is refused. */
const MAX_DECODE_ROUNDS = 5;
const PROBE_ORIGIN = "http://app.invalid";

/**
 * True when `value` is a path on this app however it is read: by a browser
 * (which drops tabs and newlines, turns `\` into `/` and removes dot segments)
 * or by anything that percent-decodes it again on the way. Absolute and
 * protocol-relative URLs, `/\host`, control characters, non-ASCII look-alikes
 * and the same tricks percent-encoded (once or many times) are all refused.
 */
export function isPathOnThisApp(value: string): boolean {
  // Printable ASCII only: what the app itself produces (`pathname + search`) always is.
  if (value.length === 0 || value.length > MAX_LENGTH || !/^[\x21-\x7e]+$/.test(value)) return false;

  let current = value;
  for (let round = 0; ; round++) {
    if (!current.startsWith("/") || current.startsWith("//") || hasBackslashOrControl(current)) return false;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (decoded === current) break;
    if (round === MAX_DECODE_ROUNDS) return false;
    current = decoded;
  }

  // The browser's own reading must stay on this origin and not become `//host`
  // after dot-segment removal (`/..//evil.test`, `/.//evil.test`).
  const url = new URL(value, PROBE_ORIGIN);
  return url.origin === PROBE_ORIGIN && !url.pathname.startsWith("//");
}

function hasBackslashOrControl(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

/** The path to send a user to after signing in, or `fallback` unless `value` is a path on this app. */
export function safeRedirectPath(value: unknown, fallback = "/account"): string {
  return typeof value === "string" && isPathOnThisApp(value) ? value : fallback;
}

export type ReturnUrlPolicy = {
  /** This app's origin (APP_URL): paths are resolved against it. */
  appOrigin: string;
  /** Further origins a portal may return to (BILLING_RETURN_ORIGINS). */
  allowedOrigins: readonly string[];
};

const DEFAULT_RETURN_PATH = "/account";

/**
 * The absolute URL to hand to a provider's portal as its way back, or null
 * when `candidate` is neither a path on this app nor an http(s) URL on this
 * app's origin or an allowed one (whose path must pass the same test). An
 * absent value means the account page.
 */
export function resolveReturnUrl(candidate: string | undefined, policy: ReturnUrlPolicy): string | null {
  if (candidate === undefined) return new URL(DEFAULT_RETURN_PATH, policy.appOrigin).href;
  if (isPathOnThisApp(candidate)) return new URL(candidate, policy.appOrigin).href;

  // Absolute URLs: printable ASCII, `scheme://` spelled out (`http:evil.test` is not one).
  if (candidate.length > MAX_LENGTH || !/^[\x21-\x7e]+$/.test(candidate) || candidate.includes("\\")) return null;
  if (!/^https?:\/\//i.test(candidate)) return null;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (url.origin !== policy.appOrigin && !policy.allowedOrigins.includes(url.origin)) return null;
  return isPathOnThisApp(url.pathname + url.search + url.hash) ? url.href : null;
}
