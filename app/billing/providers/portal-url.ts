/** A portal URL the app may redirect to: an absolute http(s) URL. Anything else means the provider answered garbage. */
export function isPortalUrl(value: unknown): value is string {
  if (typeof value !== "string" || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "https:" || protocol === "http:";
}
