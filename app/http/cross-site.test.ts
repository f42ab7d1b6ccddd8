import { describe, expect, test } from "vitest";
import { isCrossSiteRequest, isCrossSiteWrite } from "./cross-site.ts";

const APP = "https://app.example.com";
const request = (headers: Record<string, string>, method = "POST") =>
  new Request(`${APP}/billing/portal`, { method, headers });

describe("cross-site requests are told apart from this app's own", () => {
  test.each([
    [{ Origin: APP }, false],
    [{ Origin: APP, "Sec-Fetch-Site": "same-origin" }, false],
    [{ "Sec-Fetch-Site": "none" }, false], // typed into the address bar, or a bookmark
    [{}, false], // not a browser: curl, a server-side client
    [{ Origin: "https://evil.test" }, true],
    [{ Origin: "http://app.example.com" }, true],
    [{ Origin: "https://app.example.com.evil.test" }, true],
    [{ Origin: "null" }, true], // sandboxed frames, data: URLs
    [{ "Sec-Fetch-Site": "cross-site" }, true],
    [{ "Sec-Fetch-Site": "same-site" }, true], // a sibling subdomain is still another app
    [{ Origin: APP, "Sec-Fetch-Site": "cross-site" }, true],
  ])("%j → cross-site: %s", (headers, expected) => {
    expect(isCrossSiteRequest(request(headers), APP)).toBe(expected);
  });

  test("only writes are refused: a cross-site link to a page still works", () => {
    expect(isCrossSiteWrite(request({ "Sec-Fetch-Site": "cross-site" }, "GET"), APP)).toBe(false);
    expect(isCrossSiteWrite(request({ "Sec-Fetch-Site": "cross-site" }, "POST"), APP)).toBe(true);
    expect(isCrossSiteWrite(request({ Origin: "https://evil.test" }, "DELETE"), APP)).toBe(true);
  });

  test("provider webhooks are not checked: their signature proves them, wherever they come from", () => {
    const webhook = new Request(`${APP}/webhooks/stripe`, { method: "POST", headers: { Origin: "https://evil.test", "Sec-Fetch-Site": "cross-site" } });
    expect(isCrossSiteWrite(webhook, APP)).toBe(false);
    const lookalike = new Request(`${APP}/webhooks-not-really`, { method: "POST", headers: { Origin: "https://evil.test" } });
    expect(isCrossSiteWrite(lookalike, APP)).toBe(true);
  });
});
