import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";

/**
 * How the next provider call(s) should go wrong. `status` alone answers with
 * the provider's own error body for that status; `retryAfterSeconds` alone
 * means 429 with `Retry-After`; `malformed` is a non-JSON 200; `delayMs`
 * holds the answer back (longer than the SDK timeout = a timeout) and, on
 * its own, is followed by the normal answer.
 */
export type FailureSpec = {
  status?: number;
  body?: string | object;
  delayMs?: number;
  malformed?: boolean;
  retryAfterSeconds?: number;
  /** How many consecutive calls it applies to (default 1). */
  times?: number;
};

export class FailureQueue {
  readonly #queues = new Map<ProviderId, { spec: FailureSpec; remaining: number }[]>();

  add(provider: ProviderId, spec: FailureSpec): void {
    assertValidSpec(spec);
    const queue = this.#queues.get(provider) ?? [];
    queue.push({ spec, remaining: spec.times ?? 1 });
    this.#queues.set(provider, queue);
  }

  /** The failure for the call that just arrived, if one is queued. */
  take(provider: ProviderId): FailureSpec | undefined {
    const head = this.#queues.get(provider)?.[0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) this.#queues.get(provider)!.shift();
    return head.spec;
  }

  clear(): void {
    this.#queues.clear();
  }
}

/** Reads the JSON body of `POST /__emulator/failures`; throws a TypeError naming what is wrong. */
export function parseFailureRequest(input: unknown): { provider: ProviderId; spec: FailureSpec } {
  if (typeof input !== "object" || input === null) throw new TypeError("Expected a JSON object");
  const { provider, status, body, delayMs, malformed, retryAfterSeconds, times } = input as Record<string, unknown>;
  if (!PROVIDER_IDS.includes(provider as ProviderId)) {
    throw new TypeError(`"provider" must be one of ${PROVIDER_IDS.join(", ")}`);
  }
  if (body !== undefined && typeof body !== "string" && (typeof body !== "object" || body === null)) {
    throw new TypeError(`"body" must be a string or an object`);
  }
  if (malformed !== undefined && typeof malformed !== "boolean") throw new TypeError(`"malformed" must be a boolean`);
  const spec: FailureSpec = {
    ...optionalNumber("status", status),
    ...(body === undefined ? {} : { body }),
    ...optionalNumber("delayMs", delayMs),
    ...(malformed === undefined ? {} : { malformed }),
    ...optionalNumber("retryAfterSeconds", retryAfterSeconds),
    ...optionalNumber("times", times),
  };
  assertValidSpec(spec);
  return { provider: provider as ProviderId, spec };
}

function optionalNumber(name: string, value: unknown): Record<string, number> {
  if (value === undefined) return {};
  if (typeof value !== "number") throw new TypeError(`"${name}" must be a number`);
  return { [name]: value };
}

function assertValidSpec(spec: FailureSpec): void {
  const { status, delayMs, retryAfterSeconds, times } = spec;
  if (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) {
    throw new TypeError(`"status" must be an HTTP status between 200 and 599`);
  }
  if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new TypeError(`"delayMs" must be a non-negative number`);
  }
  if (retryAfterSeconds !== undefined && !(Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 0)) {
    throw new TypeError(`"retryAfterSeconds" must be a non-negative integer`);
  }
  if (times !== undefined && !(Number.isInteger(times) && times >= 1)) {
    throw new TypeError(`"times" must be a positive integer`);
  }
}
