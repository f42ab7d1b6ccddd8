import type { IncomingMessage } from "node:http";
import { describe, expect, test } from "vitest";
import { loggablePath, malformedRequest, requestIdFor } from "./request-checks.ts";

const req = (url: string, rawHeaders: string[] = ["Host", "app.test"]) => ({ url, rawHeaders }) as unknown as IncomingMessage;

describe("request ids", () => {
  test("a safe incoming id is kept", () => {
    expect(requestIdFor("lb-42.a_B")).toBe("lb-42.a_B");
  });
  test.each([["has space"], ["x".repeat(129)], [""], ["<script>"]])("%j is replaced by a UUID", (id) => {
    expect(requestIdFor(id)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe("malformed requests are told apart before any work", () => {
  test.each([
    ["http://evil.test/", ["Host", "a"]],
    ["*", ["Host", "a"]],
    ["/", []],
    ["/", ["Host", "a", "host", "b"]],
    ["/%", ["Host", "a"]],
    ["/%zz/x?ok=%", ["Host", "a"]],
  ])("%s with %j is refused", (url, headers) => {
    expect(malformedRequest(req(url, headers))?.status).toBe(400);
  });

  test("an ordinary request passes, whatever its query string holds", () => {
    expect(malformedRequest(req("/account?x=%"))).toBeNull();
  });
});

describe("the access log's path", () => {
  test("drops the query string and never shows an absolute-form target", () => {
    expect(loggablePath("/reset?token=secret")).toBe("/reset");
    expect(loggablePath("http://evil.test/x")).toBe("-");
  });
});
