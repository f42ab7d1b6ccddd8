import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/**
 * Reads a cookie signed by React Router's `createCookie` (same format, same secret rotation), with
 * each secret's HMAC key made once: React Router imports a WebCrypto key on every parse (~0.1 ms
 * on every signed-in request). Cookies are still written by React Router.
 *
 * Answers what React Router's `cookie.parse` answers: null when the cookie is missing or no
 * secret signs it, `""` for an empty value, `{}` for a signed value that is not JSON.
 */
export function createSignedCookieReader(name: string, secrets: string[]): (cookieHeader: string | null) => unknown {
  const keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, "utf8")));
  return (cookieHeader) => {
    if (!cookieHeader) return null;
    const value = cookieValue(cookieHeader, name);
    if (value === undefined) return null;
    if (value === "") return "";
    for (const key of keys) {
      const payload = unsign(value, key);
      if (payload !== false) return decodeData(payload);
    }
    return null;
  };
}

/** The first `name=value` pair's value, found, trimmed and URI-decoded as cookie-es (React Router's parser) does. */
function cookieValue(header: string, name: string): string | undefined {
  if (header.length < 2) return undefined;
  let index = 0;
  while (index < header.length) {
    const equals = header.indexOf("=", index);
    if (equals === -1) return undefined;
    let end = header.indexOf(";", index);
    if (end === -1) end = header.length;
    if (equals > end) {
      index = header.lastIndexOf(";", equals - 1) + 1;
      continue;
    }
    if (trimSpaces(header.slice(index, equals)) === name) return decode(trimSpaces(header.slice(equals + 1, end)));
    index = end + 1;
  }
  return undefined;
}

/** Spaces and tabs only, as cookie-es trims. */
function trimSpaces(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

function decode(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** React Router's `unsign`: `payload.base64(HMAC-SHA256(payload))`, padding stripped. */
function unsign(cookie: string, key: KeyObject): string | false {
  const index = cookie.lastIndexOf(".");
  const payload = cookie.slice(0, index);
  let signature: Buffer;
  try {
    signature = Buffer.from(atob(cookie.slice(index + 1)), "latin1");
  } catch {
    return false;
  }
  const expected = createHmac("sha256", key).update(payload, "utf8").digest();
  return signature.length === expected.length && timingSafeEqual(signature, expected) ? payload : false;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** React Router's `decodeData`: base64 of the UTF-8 JSON; anything else reads as `{}`. */
function decodeData(value: string): unknown {
  try {
    return JSON.parse(utf8.decode(Buffer.from(atob(value), "latin1")));
  } catch {
    return {};
  }
}
