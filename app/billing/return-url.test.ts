import { describe, expect, test } from "vitest";
import { resolveReturnUrl } from "./return-url.ts";

const policy = { appOrigin: "https://app.example.com", allowedOrigins: ["https://docs.example.com"] };

describe("the portal sends the user back only to this app or an allowed origin", () => {
  test("no returnUrl means the account page", () => {
    expect(resolveReturnUrl(undefined, policy)).toBe("https://app.example.com/account");
  });

  test.each([
    ["/account", "https://app.example.com/account"],
    ["/settings/billing?tab=plan#top", "https://app.example.com/settings/billing?tab=plan#top"],
    ["https://app.example.com/account", "https://app.example.com/account"],
    ["HTTPS://APP.EXAMPLE.COM/account", "https://app.example.com/account"],
    ["https://app.example.com:443/account", "https://app.example.com/account"],
    ["https://docs.example.com/billing", "https://docs.example.com/billing"],
    ["/a/../account", "https://app.example.com/account"],
    // An encoded newline stays part of the path on this app: it cannot change the origin.
    ["/%0a/evil.test", "https://app.example.com/%0a/evil.test"],
  ])("accepts %s", (input, expected) => {
    expect(resolveReturnUrl(input, policy)).toBe(expected);
  });

  test.each([
    "",
    " ",
    "https://evil.test/account",
    "http://app.example.com/account", // same host, other scheme
    "https://app.example.com:8443/account", // same host, other port
    "https://app.example.com.evil.test/",
    "https://evil.test/?https://app.example.com",
    "https://evil.test#https://app.example.com",
    "https://app.example.com@evil.test/",
    "https://user:pass@app.example.com/account",
    "https://user@app.example.com/account",
    "//evil.test",
    "//evil.test/account",
    "///evil.test",
    "/\\evil.test",
    "\\\\evil.test",
    "\\/evil.test",
    "/\t/evil.test",
    "/\n/evil.test",
    " /account",
    "/account ",
    "\u0000/account",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://app.example.com/",
    "account",
    "./account",
    "../account",
    "evil.test",
    "https:evil.test",
    "https:/evil.test",
    "http://[::1]/",
    "https://docs.example.com.evil.test/",
    "https://xn--pple-43d.com/",
    `/${"a".repeat(3000)}`,
  ])("refuses %j", (input) => {
    expect(resolveReturnUrl(input, policy)).toBeNull();
  });

  test("an origin is allowed only if listed exactly", () => {
    const strict = { appOrigin: "http://localhost:3000", allowedOrigins: [] };
    expect(resolveReturnUrl("http://localhost:3000/account", strict)).toBe("http://localhost:3000/account");
    expect(resolveReturnUrl("http://localhost:3001/account", strict)).toBeNull();
    expect(resolveReturnUrl("http://127.0.0.1:3000/account", strict)).toBeNull();
  });
});
