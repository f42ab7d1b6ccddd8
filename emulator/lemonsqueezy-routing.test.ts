import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { routeLemonSqueezyApiTo } from "./lemonsqueezy-routing.ts";

/** A server that answers with the path it was asked for, standing in for the emulator. */
let echo: Server;
let echoOrigin: string;
const originalFetch = globalThis.fetch;

beforeAll(async () => {
  echo = createServer((req, res) => res.end(`echo ${req.method} ${req.url}`));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoOrigin = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => echo.close(resolve)));
afterEach(() => {
  globalThis.fetch = originalFetch;
});

describe("routeLemonSqueezyApiTo", () => {
  it("sends calls for api.lemonsqueezy.com to the emulator, path and query intact", async () => {
    routeLemonSqueezyApiTo(echoOrigin);
    const response = await fetch("https://api.lemonsqueezy.com/v1/customers/1?include=orders", {
      headers: { accept: "application/vnd.api+json" },
    });
    expect(await response.text()).toBe("echo GET /v1/customers/1?include=orders");
  });

  it("leaves every other origin untouched", async () => {
    const seen: string[] = [];
    globalThis.fetch = async (input) => {
      seen.push(String(input));
      return new Response("passed through");
    };
    routeLemonSqueezyApiTo(echoOrigin);

    await fetch("https://api.stripe.com/v1/charges");
    await fetch("https://lemonsqueezy.com/v1/customers/1");
    expect(seen).toEqual(["https://api.stripe.com/v1/charges", "https://lemonsqueezy.com/v1/customers/1"]);
  });

  it("wraps fetch only once when called again, and follows the latest origin", async () => {
    routeLemonSqueezyApiTo("http://127.0.0.1:9");
    const wrapped = globalThis.fetch;
    routeLemonSqueezyApiTo(echoOrigin);

    expect(globalThis.fetch).toBe(wrapped);
    expect(await (await fetch("https://api.lemonsqueezy.com/v1/users/me")).text()).toBe("echo GET /v1/users/me");
  });

  it("restores the original fetch when undone", () => {
    const undo = routeLemonSqueezyApiTo(echoOrigin);
    expect(globalThis.fetch).not.toBe(originalFetch);
    undo();
    expect(globalThis.fetch).toBe(originalFetch);
  });
});
