/**
 * The user's language for providers that take one (SPEC "Beyond the portal": Stripe `locale`).
 * Two small steps: read `Accept-Language` into tags by preference, then pick the best of a
 * provider's locales (RFC 4647 "lookup": the exact tag, else the tag with its last part dropped).
 */

/** At most this many tags are read: a header longer than any browser sends is not worth more work. */
const MAX_TAGS = 20;
const TAG = /^[a-z]{1,8}(-[a-z0-9]{1,8})*$/i;

/** `Accept-Language` as tags, most preferred first (q=0 and `*` left out; equal q keep header order). */
export function preferredLanguages(header: string | null | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .slice(0, MAX_TAGS)
    .map((part, index) => {
      const [tag = "", ...params] = part.split(";").map((piece) => piece.trim());
      const qParam = params.find((param) => /^q=/i.test(param));
      const q = qParam === undefined ? 1 : Number(qParam.slice(2));
      return { tag, q: Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0, index };
    })
    .filter(({ tag, q }) => q > 0 && TAG.test(tag))
    .toSorted((a, b) => b.q - a.q || a.index - b.index)
    .map(({ tag }) => tag);
}

/**
 * The best of `supported` for these languages, spelled as `supported` spells it; `auto` (the
 * provider guesses from the browser) when none fits.
 */
export function matchLocale<L extends string>(languages: readonly string[] | undefined, supported: readonly L[]): L | "auto" {
  const byLowerCase = new Map(supported.map((locale) => [locale.toLowerCase(), locale]));
  for (const language of languages ?? []) {
    const parts = language.toLowerCase().split("-");
    // fr-CH → fr-ch, then fr; zh-Hant-TW → zh-hant-tw, zh-hant, zh.
    for (let length = parts.length; length > 0; length--) {
      const match = byLowerCase.get(parts.slice(0, length).join("-"));
      if (match) return match;
    }
  }
  return "auto";
}
