const MAX_LENGTH = 2048;
const BASE = new URL("http://app.invalid");

/**
 * The path to send a user to after signing in, or `fallback` when `value` could lead anywhere
 * but a path on this app: absolute and protocol-relative URLs, `/\host`, backslashes, control
 * characters, and the same tricks percent-encoded once or twice are all refused.
 */
export function safeRedirectPath(value: unknown, fallback = "/account"): string {
  return typeof value === "string" && isPathOnThisApp(value) ? value : fallback;
}

function isPathOnThisApp(value: string): boolean {
  // Printable ASCII only: what the app itself produces (`pathname + search`) always is, and
  // browsers silently drop tabs and newlines, which turns `/\t/evil.test` into `//evil.test`.
  if (value.length === 0 || value.length > MAX_LENGTH || !/^[\x21-\x7e]+$/.test(value)) return false;

  // Check the value and its decoded forms, for anything that decodes it again on the way.
  let current = value;
  for (let round = 0; round < 3; round++) {
    if (!current.startsWith("/") || current.startsWith("//")) return false;
    if (current.includes("\\") || hasControlCharacter(current)) return false;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (decoded === current) break;
    current = decoded;
  }

  // The browser's own reading must stay on this origin and not become `//host` after
  // dot-segment removal (`/..//evil.test`).
  const url = new URL(value, BASE);
  return url.origin === BASE.origin && !url.pathname.startsWith("//");
}

function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
