import { describe, expect, test } from "vitest";
import { matchLocale, preferredLanguages } from "./languages.ts";

const STRIPE_LIKE = ["de", "en", "en-GB", "fr", "fr-CA", "pt", "pt-BR", "zh", "zh-TW"] as const;

describe("the user's language", () => {
  test("reads Accept-Language by quality, keeping the header's order for equal ones", () => {
    expect(preferredLanguages("de;q=0.5, fr-CH, fr;q=0.9, en;q=0.9")).toEqual(["fr-CH", "fr", "en", "de"]);
  });

  test("leaves out q=0, the wildcard and anything that is not a language tag", () => {
    expect(preferredLanguages("*, en;q=0, <script>, fr;q=abc, de")).toEqual(["de"]);
    expect(preferredLanguages(null)).toEqual([]);
  });

  test("picks the exact locale, else the language without its region, spelled as the provider spells it", () => {
    expect(matchLocale(["FR-ca"], STRIPE_LIKE)).toBe("fr-CA");
    expect(matchLocale(["fr-CH"], STRIPE_LIKE)).toBe("fr");
    expect(matchLocale(["zh-Hant-TW"], STRIPE_LIKE)).toBe("zh");
    expect(matchLocale(["pt-BR", "de"], STRIPE_LIKE)).toBe("pt-BR");
  });

  test("falls back through the user's list, then to auto", () => {
    expect(matchLocale(["eo", "de-AT"], STRIPE_LIKE)).toBe("de");
    expect(matchLocale(["eo"], STRIPE_LIKE)).toBe("auto");
    expect(matchLocale([], STRIPE_LIKE)).toBe("auto");
  });
});
