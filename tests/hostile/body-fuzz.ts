import * as fc from "fast-check";
import type { RunningApp } from "./app-process.ts";
import { DEMO_PASSWORD, type GeneratedRequest, PASSWORD_MARK } from "./arbitraries.ts";
import { NUM_RUNS, SEED } from "./fuzz-settings.ts";
import { type HostileResponse, createClient, redirectTarget } from "./http-client.ts";
import { ALLOWED_STATUSES, type Door } from "./spec-statuses.ts";

/**
 * Sends generated requests to a running app and holds each answer to the
 * SPEC: a status listed for its door, no stack or key in the body, and a
 * redirect that stays on this app (or, for the portal doors, goes to the
 * emulated provider's portal). Keeps what the log must not contain.
 */
export function createBodyFuzz(app: RunningApp) {
  const client = createClient(app.origin, CONCURRENCY);
  /** Everything secret sent or received, for the log check. */
  const secrets = new Set<string>([DEMO_PASSWORD]);
  /** Statuses seen per door, for the figures in docs/reliability.md. */
  const answered = new Map<string, Map<number, number>>();

  /** Sends one generated request; answers what in its answer breaks the SPEC (nothing, when all is well). */
  async function problemsWith(door: Door, request: GeneratedRequest, label: string): Promise<string[]> {
    return (await exchange(door, request, label)).problems;
  }

  /** As `problemsWith`, with the answer itself, for a door whose test checks more of it. */
  async function exchange(door: Door, request: GeneratedRequest, label: string): Promise<{ response: HostileResponse; problems: string[] }> {
    // Passwords the suite made up must not come back in the log.
    const sent = request.body?.toString("utf8") ?? "";
    if (sent.includes(PASSWORD_MARK)) for (const match of sent.matchAll(/Pw-hostile-[\w-]+/g)) secrets.add(match[0]);

    const response = await client.send(request);
    const counts = answered.get(label) ?? new Map<number, number>();
    counts.set(response.status, (counts.get(response.status) ?? 0) + 1);
    answered.set(label, counts);

    const problems: string[] = [];
    const allowedStatuses: readonly number[] = ALLOWED_STATUSES[door];
    if (!allowedStatuses.includes(response.status)) problems.push(`answered ${response.status}, not one of ${allowedStatuses.join(", ")}`);
    if (/\n\s+at \S|\b[sr]k_(test|live)_|whsec_|polar_oat_/.test(response.body)) problems.push("the body carries a stack or a key");

    // The portal and checkout doors may send the browser on to the provider's pages; the others stay here.
    const providerDoor = PROVIDER_DOORS.includes(door);
    const target = redirectTarget(response, app.origin);
    if (response.status >= 300 && response.status < 400 && !target) problems.push("a redirect without Location");
    if (target) {
      const allowed = providerDoor ? [app.origin, ...app.portalOrigins] : [app.origin];
      if (!allowed.includes(target.origin)) problems.push(`redirected off this app, to ${target.href}`);
      if (target.origin !== app.origin) keepPortalUrl(target);
    }
    if (response.status === 200 && (door === "portalJson" || door === "checkoutJson")) {
      const url = new URL((JSON.parse(response.body) as { url: string }).url);
      if (!app.portalOrigins.includes(url.origin)) problems.push(`answered a provider URL off the provider's origin: ${url.href}`);
      keepPortalUrl(url);
    }
    return { response, problems: problems.map((problem) => `${request.description}: ${problem}`) };
  }

  /** A portal or checkout URL and its token: neither may reach the log. */
  function keepPortalUrl(url: URL) {
    secrets.add(url.href);
    const token = url.pathname.split("/").at(-1) ?? "";
    if (token.length >= 12) secrets.add(token);
  }

  function report() {
    for (const [door, statuses] of answered) console.log(`hostile bodies ${door}: ${JSON.stringify(Object.fromEntries(statuses))}`);
  }

  return { client, secrets, problemsWith, exchange, report, close: () => client.close() };
}

const PROVIDER_DOORS: readonly Door[] = ["portalForm", "portalJson", "checkoutForm", "checkoutJson"];

/** How many generated requests are on their way at once: the client's keep-alive pool. */
export const CONCURRENCY = 8;

/**
 * Draws NUM_RUNS values from `arbitrary` (fast-check; FC_SEED replays a run) and checks each, CONCURRENCY at a
 * time, so the app is kept busy instead of waiting on one request after another as `fc.assert` does with an
 * async property. Every failing value is reported, with the seed that draws the same values again; there is no
 * shrinking (a generated request's description is already short).
 */
export async function assertEach<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>): Promise<void> {
  const seed = SEED ?? Math.floor(Math.random() * 2 ** 31);
  const values = fc.sample(arbitrary, { numRuns: NUM_RUNS, seed });
  const failures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < values.length) {
      const value = values[next++]!;
      try {
        await check(value);
      } catch (error) {
        // An assertion's message elides its values: the value it got is what tells the problem.
        const actual = (error as { actual?: unknown }).actual;
        const detail = actual === undefined ? "" : `: ${JSON.stringify(actual).slice(0, 1_000)}`;
        failures.push(`${error instanceof Error ? error.message : String(error)}${detail}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${values.length} generated values failed (FC_SEED=${seed} draws them again):\n${failures.slice(0, 10).join("\n")}`);
  }
}
