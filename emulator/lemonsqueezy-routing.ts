/**
 * Lemon Squeezy's SDK has its base URL hard-coded and calls the global
 * `fetch` on every request, so the only way to point the unchanged SDK at
 * the emulator is to wrap `globalThis.fetch`: requests for
 * https://api.lemonsqueezy.com go to the emulator, everything else is
 * passed through untouched.
 */
export const LEMON_SQUEEZY_API_ORIGIN = "https://api.lemonsqueezy.com";

let installed: { target: string; original: typeof fetch; wrapper: typeof fetch } | undefined;

/**
 * Sends the SDK's calls to `origin`. Calling it again only changes the
 * target (the wrapper is never stacked); the returned function restores the
 * original `fetch`.
 */
export function routeLemonSqueezyApiTo(origin: string): () => void {
  const target = new URL(origin).origin;
  if (installed && globalThis.fetch === installed.wrapper) {
    installed.target = target;
    return undo;
  }
  const original = globalThis.fetch;
  const wrapper: typeof fetch = (input, init) => {
    const url = requestUrl(input);
    if (!installed || url.origin !== LEMON_SQUEEZY_API_ORIGIN) return original(input, init);
    const rerouted = `${installed.target}${url.pathname}${url.search}`;
    return original(input instanceof Request ? new Request(rerouted, input) : rerouted, init);
  };
  installed = { target, original, wrapper };
  globalThis.fetch = wrapper;
  return undo;
}

function undo(): void {
  if (installed && globalThis.fetch === installed.wrapper) globalThis.fetch = installed.original;
  installed = undefined;
}

function requestUrl(input: Parameters<typeof fetch>[0]): URL {
  if (input instanceof Request) return new URL(input.url);
  return new URL(input);
}
