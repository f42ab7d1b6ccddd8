import { describe, expect, it } from "vitest";
import { safeRedirectPath } from "./redirect-to.ts";

describe("safeRedirectPath", () => {
  it.each([
    "/account",
    "/",
    "/account?tab=billing",
    "/account?tab=billing#invoices",
    "/billing/portal?returnUrl=%2Faccount",
    "/search?q=caf%C3%A9",
    "/a/b/../c",
  ])("keeps the path %j on this app", (path) => {
    expect(safeRedirectPath(path)).toBe(path);
  });

  it.each([
    ["protocol-relative URL", "//evil.test"],
    ["protocol-relative URL with path", "//evil.test/account"],
    ["triple slash", "///evil.test"],
    ["slash backslash", "/\\evil.test"],
    ["backslash slash", "\\/evil.test"],
    ["double backslash", "\\\\evil.test"],
    ["backslash in the middle", "/account\\..\\..\\evil.test"],
    ["absolute https URL", "https://evil.test/account"],
    ["absolute http URL", "http://evil.test"],
    ["URL without slashes", "https:evil.test"],
    ["javascript: URL", "javascript:alert(1)"],
    ["javascript: URL in upper case", "JaVaScRiPt:alert(1)"],
    ["data: URL", "data:text/html,<script>alert(1)</script>"],
    ["relative path", "account"],
    ["host-looking relative path", "evil.test/account"],
    ["leading space", " /account"],
    ["leading space before //", " //evil.test"],
    ["tab that browsers drop", "/\t/evil.test"],
    ["newline that browsers drop", "/\n/evil.test"],
    ["carriage return and header injection", "/account\r\nSet-Cookie: x=1"],
    ["NUL byte", "/account\u0000"],
    ["DEL character", "/\u007f/evil.test"],
    ["encoded slash after slash", "/%2F%2Fevil.test"],
    ["encoded slash once", "/%2Fevil.test"],
    ["encoded backslash", "/%5Cevil.test"],
    ["lower-case encoded backslash", "/%5cevil.test"],
    ["double-encoded slash", "/%252Fevil.test"],
    ["encoded tab", "/%09/evil.test"],
    ["encoded newline", "/account%0d%0aSet-Cookie:%20x=1"],
    ["malformed percent-encoding", "/account%E0%A4%A"],
    ["dot segments that climb to //host", "/..//evil.test"],
    ["dot segments in the middle", "/a/..//evil.test"],
    ["fullwidth solidus", "/\uff0fevil.test"],
    ["unicode line separator", "/\u2028/evil.test"],
    ["credentials-looking path", "//user:pass@evil.test"],
    ["empty string", ""],
    ["over-long path", `/${"a".repeat(3000)}`],
  ])("refuses a %s", (_name, value) => {
    expect(safeRedirectPath(value)).toBe("/account");
  });

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["a number", 42],
    ["an array", ["/account"]],
    ["a File", new File(["/account"], "redirect.txt")],
  ])("refuses %s", (_name, value) => {
    expect(safeRedirectPath(value)).toBe("/account");
  });

  it("answers the given fallback", () => {
    expect(safeRedirectPath("//evil.test", "/")).toBe("/");
  });
});
