import { getCustomer, lemonSqueezySetup } from "@lemonsqueezy/lemonsqueezy.js";
import { routeLemonSqueezyApiTo } from "../../../emulator/lemonsqueezy-routing.ts";
import { isPortalUrl } from "./portal-url.ts";
import { ProviderError, type BillingProvider } from "./provider.ts";

export type LemonSqueezyProviderOptions = {
  apiKey: string;
  /** Routes the SDK's calls (hard-wired to api.lemonsqueezy.com) to the local emulator. */
  emulatorOrigin?: string;
  /** The clock the URL cache ages by; tests move it forward. */
  now?: () => number;
  /** How many customers' URLs are kept; the least recently used goes first beyond it. */
  cacheSize?: number;
};

/** Half the signed URL's 24 h validity: a cached link always has at least 12 h left when handed out. */
const PORTAL_URL_CACHE_TTL_MS = 12 * 60 * 60 * 1000;
/** Enough for the active users of a small app, small enough to never matter for memory. */
const DEFAULT_CACHE_SIZE = 1000;

type LemonSqueezyResult = Awaited<ReturnType<typeof getCustomer>>;

/** Lemon Squeezy: `getCustomer(id)` → `data.attributes.urls.customer_portal`, cached per customer. */
export function createLemonSqueezyProvider(options: LemonSqueezyProviderOptions): BillingProvider {
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  const cache = new Map<string, { url: string; storedAt: number }>();
  if (options.emulatorOrigin) routeLemonSqueezyApiTo(options.emulatorOrigin);

  const isFresh = (entry: { storedAt: number } | undefined) =>
    entry !== undefined && now() - entry.storedAt < PORTAL_URL_CACHE_TTL_MS;

  return {
    id: "lemonsqueezy",
    // A look only: it leaves the entry's place in the least-recently-used order alone.
    servesPortalFromCache: ({ providerCustomerId: id }) => isFresh(cache.get(id)),
    async createPortal({ providerCustomerId: id }) {
      const cached = cache.get(id);
      cache.delete(id);
      if (cached && isFresh(cached)) {
        cache.set(id, cached); // most recently used goes last, so eviction drops the least used
        return { url: cached.url };
      }
      // getCustomer throws on an empty id instead of answering; no provider has such a customer.
      if (!id) throw new ProviderError("lemonsqueezy", "unknown-customer", "empty customer id");

      // The SDK keeps its key in module state: set it right before the call (it is read synchronously)
      // so two instances in one process never send each other's key.
      lemonSqueezySetup({ apiKey: options.apiKey });
      // The SDK has no timeout: the resilience policy aborts its fetch at the deadline (call-scope.server.ts).
      const url = portalUrlFrom(await getCustomer(id));

      cache.set(id, { url, storedAt: now() });
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
      return { url };
    },
  };
}

/** The SDK answers `{ statusCode, data, error }` instead of throwing; this turns that into a URL or a ProviderError. */
function portalUrlFrom({ statusCode, data, error }: LemonSqueezyResult): string {
  if (error) {
    if (statusCode === 404) return fail("unknown-customer", "customer unknown");
    if (statusCode === 401 || statusCode === 403) return fail("auth", "api key refused");
    if (statusCode === 429) return fail("rate-limited", "rate limited");
    if (statusCode === null || statusCode >= 500) return fail("unavailable", "server error, network failure or malformed answer");
    return fail("refused", "request refused");
  }
  const portal = data?.data?.attributes?.urls?.customer_portal;
  if (portal === null) return fail("no-portal", "customer has no subscription");
  if (!isPortalUrl(portal)) return fail("unavailable", "customer without a portal url");
  return portal;
}

function fail(kind: ProviderError["kind"], detail: string): never {
  throw new ProviderError("lemonsqueezy", kind, detail);
}
