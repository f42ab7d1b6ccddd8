/**
 * `@polar-sh/remix` builds its own Polar SDK client from `server: "sandbox"` and offers no
 * base-URL option; the SDK calls the global `fetch`, so the peer's process reaches the
 * emulator the way the app's Lemon Squeezy emulation does: by wrapping `fetch` for one origin.
 */
export const POLAR_SANDBOX_API_ORIGIN = "https://sandbox-api.polar.sh";

export function routePolarSandboxTo(origin: string): void {
  const target = new URL(origin).origin;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.origin !== POLAR_SANDBOX_API_ORIGIN) return original(input, init);
    const rerouted = `${target}${url.pathname}${url.search}`;
    return original(input instanceof Request ? new Request(rerouted, input) : rerouted, init);
  };
}
