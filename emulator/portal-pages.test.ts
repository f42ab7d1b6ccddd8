import { describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS } from "~/demo/demo-accounts.ts";
import { findCustomer } from "./customers.ts";
import { MAX_SESSIONS, PortalPages } from "./portal-pages.ts";
import type { EmulatorRequest } from "./wire.ts";

const ORIGIN = "http://emulator.test";
const stella = findCustomer("stripe", DEMO_ACCOUNTS[0].customer!.providerCustomerId)!;

function open(pages: PortalPages, url: string): number {
  const { pathname, searchParams } = new URL(url);
  const request: EmulatorRequest = { method: "GET", path: pathname, query: searchParams, headers: {}, bearerToken: null, rawBody: "" };
  return pages.render(request).status;
}

describe("emulated portal session store", () => {
  it("keeps the most recent sessions up to its bound and forgets the least recently used beyond it", () => {
    const pages = new PortalPages(ORIGIN, "http://app.test/account", Date.now);
    const first = pages.openStripeSession(stella, null);
    const second = pages.openStripeSession(stella, null);
    expect(open(pages, first.url)).toBe(200); // the first is now more recently used than the second

    let last = second;
    for (let issued = 2; issued <= MAX_SESSIONS - 1; issued++) last = pages.openStripeSession(stella, null);
    expect(open(pages, second.url)).toBe(200); // exactly at the bound: nothing dropped yet

    pages.openStripeSession(stella, null);
    expect(open(pages, first.url)).toBe(404);
    expect(open(pages, second.url)).toBe(200);
    expect(open(pages, last.url)).toBe(200);
  });

  it("answers 410 for an expired link even after newer sessions were opened", () => {
    let clock = Date.now();
    const pages = new PortalPages(ORIGIN, "http://app.test/account", () => clock);
    const stale = pages.openPolarSession(findCustomer("polar", DEMO_ACCOUNTS[1].customer!.providerCustomerId)!, null);
    clock += 2 * 60 * 60 * 1000;
    const fresh = pages.openStripeSession(stella, null);

    expect(open(pages, stale.url)).toBe(410);
    expect(open(pages, fresh.url)).toBe(200);
  });
});
