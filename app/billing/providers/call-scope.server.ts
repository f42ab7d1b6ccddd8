import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What one provider call shares with every `fetch` an SDK makes on its
 * behalf. Some SDKs take no signal and hide response headers (Lemon
 * Squeezy's calls the global `fetch` with neither), so the scope travels
 * with the async context instead of through the SDK.
 */
export type CallScope = {
  /** Aborted when the call's budget is spent: the request and its socket are dropped, not left waiting. */
  readonly signal: AbortSignal;
  /** Set from the last 429 answer's `Retry-After`, which not every SDK passes on. */
  retryAfterSeconds?: number;
};

const scopes = new AsyncLocalStorage<CallScope>();
let installed = false;

/** Runs `call` with `scope` in force for every `fetch` it makes, however deep inside an SDK. */
export function runInCallScope<T>(scope: CallScope, call: () => Promise<T>): Promise<T> {
  installScopedFetch();
  return scopes.run(scope, call);
}

/**
 * Wraps the global `fetch` once: outside a provider call it is untouched;
 * inside one it adds the call's signal and notes a 429's Retry-After. It
 * keys on the async context, not on a URL, so it works whatever else wraps
 * `fetch` (the emulator's routing, for one) and for every provider alike.
 */
function installScopedFetch(): void {
  if (installed) return;
  installed = true;
  const next = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const scope = scopes.getStore();
    if (!scope) return next(input, init);
    const signals = [scope.signal, init?.signal, input instanceof Request ? input.signal : undefined].filter(
      (signal): signal is AbortSignal => signal instanceof AbortSignal,
    );
    const response = await next(input, { ...init, signal: AbortSignal.any(signals) });
    if (response.status === 429) scope.retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
    return response;
  };
}

/** `Retry-After` is delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
