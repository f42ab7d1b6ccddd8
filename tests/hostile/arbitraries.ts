import * as fc from "fast-check";
import { PLAN_IDS } from "~/billing/plans.ts";
import { hostileUrls, legitimatePaths } from "./hostile-urls.ts";
import type { HostileRequest } from "./http-client.ts";

export const DEMO_EMAIL = "stripe@demo.test";
export const DEMO_PASSWORD = "portal-demo-pass";

/** Generated bodies stay under the portal's 64 KiB limit: over-limit bodies are the raw-socket cases' business. */
const MAX_GENERATED_BODY = 60 * 1024;

/** Passwords the suite invents carry this mark, so the log check can look for each one it sent. */
export const PASSWORD_MARK = "Pw-hostile-";

type Field = [name: string, value: unknown];

/** Which session a generated request carries: "other" is a second signed-in user, where a door needs two kinds. */
export type CookieChoice = "live" | "other" | "tampered" | "garbage" | "none";

export type SessionCookies = { live: string; other?: string };

/** A `Content-Type` and the bytes it claims to describe. */
type EncodedBody = { contentType?: string; body?: Buffer; kind: string };

export type GeneratedRequest = HostileRequest & { description: string };

export function arbitraries(appOrigin: string) {
  const { port } = new URL(appOrigin);

  const hugeText = fc
    .tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 1_000, max: 12_000 }))
    .map(([seed, times]) => seed.repeat(times));

  /** A returnUrl/redirectTo an attacker or a confused client would send. */
  const urlLike = fc.oneof(
    fc.constantFrom(...hostileUrls(appOrigin)),
    fc.constantFrom(...legitimatePaths()),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.webPath().map((path) => `/${path}`),
    fc.string().map((text) => `/${text}`),
  );

  const text = fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 2, arbitrary: urlLike },
    { weight: 1, arbitrary: hugeText },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "\u0000", "\r\n", "%", "%zz", "\uFEFF", "\uD800", "null", "[]", "{}") },
  );

  /** Any JSON value a field may hold: strings, numbers, null, arrays, nested objects. */
  const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 6, arbitrary: text },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.array(text, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((depth) => nested(depth)) },
  );

  /** Fields for a door that knows `known`: mostly random and invalid, duplicates allowed. */
  const fields = (known: readonly string[], value: fc.Arbitrary<unknown> = jsonValue) =>
    fc.array(fc.tuple(fieldName(known), value) as fc.Arbitrary<Field>, { maxLength: 6 });

  /** Login or signup fields, one in twenty well formed (so few reach the password hash). */
  const credentialFields = (extra: readonly string[]) =>
    fc.oneof(
      { weight: 19, arbitrary: fields(["email", "password", ...extra]) },
      {
        weight: 1,
        arbitrary: fc
          .record({
            email: fc.oneof(
              fc.constant(DEMO_EMAIL),
              fc.constant(` ${DEMO_EMAIL.toUpperCase()} `),
              fc.emailAddress(),
              fc.uuid().map((id) => `new-${id}@example.test`),
            ),
            password: fc.oneof(
              fc.constant(DEMO_PASSWORD),
              fc.uuid().map((id) => `${PASSWORD_MARK}${id}`),
            ),
            more: fields(extra, urlLike),
          })
          .map(({ email, password, more }): Field[] => [["email", email], ["password", password], ...more]),
      },
    );

  // Mostly this app's own pages, so most requests get past the cross-site check to the body.
  const origin = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(undefined, appOrigin, appOrigin) },
    { weight: 1, arbitrary: fc.constantFrom("https://evil.test", "null", `http://localhost:${Number(port) + 7}`, `http://127.0.0.1:${port}`) },
  );
  const fetchSite = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(undefined, undefined, "same-origin", "none") },
    { weight: 1, arbitrary: fc.constantFrom("same-site", "cross-site", "garbage") },
  );
  const cookie = fc.constantFrom<CookieChoice>("live", "live", "tampered", "garbage", "none");
  /** As `cookie`, with a second signed-in user as often as the first. */
  const cookieOfTwoUsers = fc.constantFrom<CookieChoice>("live", "live", "other", "other", "tampered", "garbage", "none");

  /** A checkout's `plan`: the catalogue's ids (so many requests get as far as the provider), near misses, anything. */
  const planValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...PLAN_IDS) },
    { weight: 1, arbitrary: fc.constantFrom("Pro", "PRO", " pro", "pro ", "pro\u0000", "starter\n", "enterprise", "free", "", "__proto__", "constructor", "toString", "price_emulated_pro", "100002") },
    { weight: 2, arbitrary: text },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(["pro"]), fc.constant({ id: "pro" })) },
    { weight: 1, arbitrary: jsonValue },
  );
  // Many client addresses, so per-address limits count as they would for many clients; some garbage too.
  const forwardedFor = fc.oneof(
    { weight: 8, arbitrary: fc.ipV4() },
    { weight: 1, arbitrary: fc.constantFrom(undefined, "unknown", "::1", "1.2.3.4, 5.6.7.8", "' OR 1=1 --", "999.999.999.999", "") },
  );

  return { urlLike, text, jsonValue, fields, credentialFields, encoded, origin, fetchSite, cookie, cookieOfTwoUsers, planValue, forwardedFor };
}

const fieldName = (known: readonly string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known, "name") },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "", "returnUrl[]", "email ") },
  );

/** The same fields, encoded every way a client (or an attacker) might, under many content types. */
const encoded = (fieldsArb: fc.Arbitrary<Field[]>, kinds: readonly EncodingKind[] = ENCODING_KINDS) =>
  fc
    .tuple(fc.constantFrom(...kinds), fieldsArb, fc.nat(), fc.string({ unit: "binary", maxLength: 200 }), fc.uint8Array({ maxLength: 200 }))
    .map(([kind, list, pick, noise, bytes]) => encode(kind, list, pick, noise, bytes))
    .map((body) => (body.body && body.body.byteLength > MAX_GENERATED_BODY ? { ...body, body: body.body.subarray(0, MAX_GENERATED_BODY) } : body));

export const ENCODING_KINDS = [
  "form",
  "form",
  "json",
  "json",
  "json-scalar",
  "json-garbage",
  "multipart",
  "multipart-broken",
  "text",
  "none",
  "garbage-type",
  "raw-bytes",
] as const;
export type EncodingKind = (typeof ENCODING_KINDS)[number];

/** Encodings a browser form (not a JSON client) sends, and nonsense: raw bytes may still say JSON. */
export const NON_JSON_KINDS = ENCODING_KINDS.filter((kind) => !kind.startsWith("json"));
export const JSON_KINDS = ["json", "json", "json-scalar", "json-garbage"] as const satisfies readonly EncodingKind[];

function encode(kind: EncodingKind, fields: Field[], pick: number, noise: string, bytes: Uint8Array): EncodedBody {
  const choose = <T>(options: readonly T[]): T => options[pick % options.length]!;
  switch (kind) {
    case "form": {
      const contentType = choose([
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/x-www-form-urlencoded; charset=latin1",
      ]);
      const params = new URLSearchParams(fields.map(([name, value]) => [name, asText(value)]));
      return { kind, contentType, body: Buffer.from(params.toString()) };
    }
    case "json": {
      // Built by hand so duplicate keys and `__proto__` reach the server as written.
      const object = `{${fields.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value) ?? "null"}`).join(",")}}`;
      const contentType = choose(["application/json", "application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-16"]);
      return { kind, contentType, body: Buffer.from(object) };
    }
    case "json-scalar": {
      const value = choose<unknown>([fields.map(([, v]) => v), fields[0]?.[1] ?? null, pick, null, true, noise, [fields]]);
      return { kind, contentType: "application/json", body: Buffer.from(JSON.stringify(value) ?? "") };
    }
    case "json-garbage": {
      const object = JSON.stringify(Object.fromEntries(fields.map(([name, value]) => [name, value])));
      const body = choose([object.slice(0, pick % (object.length + 1)), noise, `\uFEFF${object}`, `${object}${object}`, "", " ", "{", "[", "\u0000"]);
      return { kind, contentType: "application/json", body: Buffer.from(body) };
    }
    case "multipart": {
      const boundary = choose(["----hostile", "x", "boundary-with-\"quotes\"", "a".repeat(70)]);
      const parts = fields.map(([name, value], index) => {
        const file = (pick + index) % 4 === 0 ? `; filename="${index}.txt"` : "";
        return `--${boundary}\r\nContent-Disposition: form-data; name="${name.replaceAll('"', "%22")}"${file}\r\n\r\n${asText(value)}\r\n`;
      });
      return { kind, contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(`${parts.join("")}--${boundary}--\r\n`) };
    }
    case "multipart-broken": {
      const body = `--other\r\nContent-Disposition: form-data; name="returnUrl"\r\n\r\n${noise}`;
      const contentType = choose(["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=missing", "multipart/mixed; boundary=other"]);
      return { kind, contentType, body: Buffer.from(body) };
    }
    case "text": {
      const params = new URLSearchParams(fields.map(([name, value]) => [name, asText(value)]));
      return { kind, contentType: choose(["text/plain", "text/plain; charset=utf-8", "text/html"]), body: Buffer.from(choose([params.toString(), noise])) };
    }
    case "none":
      return { kind, body: choose([undefined, Buffer.alloc(0), Buffer.from(noise)]) };
    case "garbage-type": {
      const contentType = choose(["application/xml", "application/json-patch+json", "image/png", ";;;", "*/*", "application/x-www-form-urlencoded; charset=\"", noise.replaceAll(/[^\x20-\x7e]/g, "") || "x"]);
      const params = new URLSearchParams(fields.map(([name, value]) => [name, asText(value)]));
      return { kind, contentType, body: Buffer.from(choose([params.toString(), noise])) };
    }
    case "raw-bytes":
      // Invalid UTF-8 and control bytes under the content types the doors do read.
      return { kind, contentType: choose(["application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=x", "text/plain"]), body: Buffer.from(bytes) };
  }
}

function asText(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
}

function nested(depth: number): unknown {
  let value: unknown = "/account";
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? { returnUrl: value } : [value];
  return value;
}

/** `Accept` headers with the answer to "does it prefer JSON over HTML?" (SPEC: then it is a JSON request). */
export const ACCEPT_HEADERS: readonly [value: string | undefined, prefersJson: boolean][] = [
  [undefined, false],
  ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false],
  ["*/*", false],
  ["application/json;q=0.5, text/html", false],
  ["application/json", true],
  ["text/html;q=0.1, application/json", true],
  ["application/json, text/plain, */*", true],
];

/** SPEC: a JSON request is one with `Content-Type: application/json` (any parameters, any case), or an `Accept` preferring JSON. */
export function isJsonRequest(request: HostileRequest): boolean {
  const declared = (request.headers["Content-Type"] ?? "").split(";")[0]!.trim().toLowerCase() === "application/json";
  return declared || ACCEPT_HEADERS.some(([value, prefersJson]) => prefersJson && value === request.headers.Accept);
}

/** Turns the generated parts into the request as sent, and a one-line description for a failure report. */
export function buildRequest(
  parts: {
    path: string;
    body: EncodedBody;
    origin: string | undefined;
    fetchSite: string | undefined;
    cookie: CookieChoice;
    forwardedFor: string | undefined;
    accept?: string;
  },
  cookies: SessionCookies,
): GeneratedRequest {
  const headers: Record<string, string> = {};
  if (parts.body.contentType !== undefined) headers["Content-Type"] = parts.body.contentType;
  if (parts.origin !== undefined) headers.Origin = parts.origin;
  if (parts.fetchSite !== undefined) headers["Sec-Fetch-Site"] = parts.fetchSite;
  if (parts.accept !== undefined) headers.Accept = parts.accept;
  if (parts.forwardedFor !== undefined) headers["X-Forwarded-For"] = parts.forwardedFor;
  const cookie = cookieHeader(parts.cookie, cookies);
  if (cookie) headers.Cookie = cookie;
  const size = parts.body.body?.byteLength ?? "no";
  const description = `POST ${parts.path} (${parts.body.kind}, ${size} bytes, cookie ${parts.cookie}) ${JSON.stringify(headers)} ${JSON.stringify(parts.body.body?.subarray(0, 300).toString("utf8") ?? null)}`;
  return { method: "POST", path: parts.path, headers, body: parts.body.body, description };
}

function cookieHeader(choice: CookieChoice, cookies: SessionCookies): string | undefined {
  switch (choice) {
    case "live":
      return cookies.live;
    case "other":
      return cookies.other ?? cookies.live;
    case "tampered":
      return `${cookies.live.slice(0, -2)}${cookies.live.endsWith("A") ? "B" : "A"}A`;
    case "garbage":
      return "__session=not-a-session; __session=%E0%A4%A; other=1";
    case "none":
      return undefined;
  }
}
