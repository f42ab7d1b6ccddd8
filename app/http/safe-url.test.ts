import { describe, expect, test } from "vitest";
import { hostileUrls, legitimatePaths } from "../../tests/hostile/hostile-urls.ts";
import { isPathOnThisApp, resolveReturnUrl, safeRedirectPath } from "./safe-url.ts";

const policy = { appOrigin: "https://app.example.com", allowedOrigins: ["https://docs.example.com"] };

describe("one policy for redirectTo and returnUrl: a hostile URL is refused by both doors", () => {
  for (const appOrigin of [policy.appOrigin, "http://localhost:5400"]) {
    const appPolicy = { ...policy, appOrigin };
    const payloads = hostileUrls(appOrigin);

    test(`the list holds at least 60 payloads (${appOrigin})`, () => {
      expect(new Set(payloads).size).toBeGreaterThanOrEqual(60);
    });

    test.each(payloads)(`login redirectTo on ${appOrigin} refuses %j`, (payload) => {
      expect(safeRedirectPath(payload)).toBe("/account");
    });

    test.each(payloads)(`portal returnUrl on ${appOrigin} refuses %j`, (payload) => {
      expect(resolveReturnUrl(payload, appPolicy)).toBeNull();
    });
  }
});

describe("a path on this app is accepted by both doors", () => {
  test.each(legitimatePaths())("%s", (path) => {
    expect(isPathOnThisApp(path)).toBe(true);
    expect(safeRedirectPath(path)).toBe(path);
    expect(resolveReturnUrl(path, policy)).toBe(new URL(path, policy.appOrigin).href);
  });
});

describe("the portal's return URL", () => {
  test("no returnUrl means the account page", () => {
    expect(resolveReturnUrl(undefined, policy)).toBe("https://app.example.com/account");
  });

  test.each([
    ["/settings/billing?tab=plan#top", "https://app.example.com/settings/billing?tab=plan#top"],
    ["/a/../account", "https://app.example.com/account"],
    ["https://app.example.com/account", "https://app.example.com/account"],
    ["https://app.example.com", "https://app.example.com/"],
    ["https://app.example.com/account?tab=billing#invoices", "https://app.example.com/account?tab=billing#invoices"],
    ["HTTPS://APP.EXAMPLE.COM/account", "https://app.example.com/account"],
    ["HtTpS://app.example.com/account", "https://app.example.com/account"],
    ["https://app.example.com:443/account", "https://app.example.com/account"],
    ["https://docs.example.com/billing", "https://docs.example.com/billing"],
    ["https://docs.example.com/billing?from=portal#plans", "https://docs.example.com/billing?from=portal#plans"],
  ])("accepts %s as %s", (input, expected) => {
    expect(resolveReturnUrl(input, policy)).toBe(expected);
  });

  test.each([
    "https://docs.example.com//evil.test",
    "https://docs.example.com/%2f%2fevil.test",
    "https://docs.example.com.evil.test/",
    "https://user:pass@docs.example.com/",
  ])("holds an allowed origin to the same path rule: refuses %j", (input) => {
    expect(resolveReturnUrl(input, policy)).toBeNull();
  });

  test("an origin is allowed only if listed exactly", () => {
    const strict = { appOrigin: "http://localhost:3000", allowedOrigins: [] };
    expect(resolveReturnUrl("http://localhost:3000/account", strict)).toBe("http://localhost:3000/account");
    expect(resolveReturnUrl("http://localhost:3001/account", strict)).toBeNull();
    expect(resolveReturnUrl("http://127.0.0.1:3000/account", strict)).toBeNull();
    expect(resolveReturnUrl("https://docs.example.com/billing", strict)).toBeNull();
  });
});

describe("the login's redirectTo", () => {
  test.each([
    ["null", null],
    ["undefined", undefined],
    ["a number", 42],
    ["an array", ["/account"]],
    ["an object", { toString: () => "/account" }],
    ["a File", new File(["/account"], "redirect.txt")],
  ])("refuses %s", (_name, value) => {
    expect(safeRedirectPath(value)).toBe("/account");
  });

  test("is a path, never an absolute URL, even on this app", () => {
    expect(safeRedirectPath("https://app.example.com/account")).toBe("/account");
    expect(safeRedirectPath("https://app.example.com/settings")).toBe("/account");
  });

  test("answers the given fallback", () => {
    expect(safeRedirectPath("//evil.test", "")).toBe("");
    expect(safeRedirectPath("//evil.test", "/")).toBe("/");
  });
});
