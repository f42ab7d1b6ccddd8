/**
 * Where a provider's portal may send the user back to. An open redirect here
 * would let anyone craft a "Manage billing" link that ends on their site, so
 * the policy is an allow-list of origins compared after the URL parser has
 * had its say, never a string prefix check.
 */
export type ReturnUrlPolicy = {
  /** This app's origin (APP_URL): paths are resolved against it. */
  appOrigin: string;
  /** Further origins a portal may return to (BILLING_RETURN_ORIGINS). */
  allowedOrigins: readonly string[];
};

const DEFAULT_RETURN_PATH = "/account";

/**
 * The absolute URL to hand to the provider, or null when `candidate` is not
 * a path on this app nor a URL on an allowed origin. An absent value means
 * the account page.
 */
export function resolveReturnUrl(candidate: string | undefined, policy: ReturnUrlPolicy): string | null {
  if (candidate === undefined) return new URL(DEFAULT_RETURN_PATH, policy.appOrigin).href;
  // Browsers strip tabs and newlines and turn `\` into `/` before resolving, so `/\evil.test` means `//evil.test`:
  // refuse anything a browser would read differently from what we checked.
  if (candidate === "" || candidate.length > 2048 || hasControlOrBackslash(candidate)) return null;
  if (candidate !== candidate.trim()) return null;

  const isPath = candidate.startsWith("/") && !candidate.startsWith("//");
  if (!isPath && !/^https?:\/\//i.test(candidate)) return null;

  let url: URL;
  try {
    url = new URL(candidate, policy.appOrigin);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  const allowed = url.origin === policy.appOrigin || policy.allowedOrigins.includes(url.origin);
  return allowed ? url.href : null;
}

function hasControlOrBackslash(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}
