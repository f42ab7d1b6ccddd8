/**
 * `@polar-sh/remix` builds its own Polar SDK client from `server: "sandbox"` and offers no
 * base-URL option; the SDK calls the global `fetch`, so the peer's process reaches the
 * emulator the way the app's Lemon Squeezy emulation does: by wrapping `fetch` for one origin.
 */
export const POLAR_SANDBOX_API_ORIGIN = "https://sandbox-api.polar.sh";

/** A stand-in avatar, for an emulator that answers `customer.avatar_url: null` (see `fillAvatarUrl`). */
const AVATAR_URL = '"avatar_url":"https://avatars.example.test/polar-demo.png"';

export function routePolarSandboxTo(origin: string, options: { fillAvatarUrl: boolean }): void {
  const target = new URL(origin).origin;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.origin !== POLAR_SANDBOX_API_ORIGIN) return original(input, init);
    const rerouted = `${target}${url.pathname}${url.search}`;
    const response = await original(input instanceof Request ? new Request(rerouted, input) : rerouted, init);
    if (!options.fillAvatarUrl) return response;
    // Polar always sends a string avatar_url (shared/PROVIDERS.md) and every 0.x SDK requires one,
    // but the emulator sends null: the harness turns this on only when it sees that answer.
    const text = (await response.text()).replace('"avatar_url":null', AVATAR_URL);
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    return new Response(text, { status: response.status, statusText: response.statusText, headers });
  };
}
