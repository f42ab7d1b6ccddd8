import { describe, expect, test } from "vitest";
import { forwardedView } from "./forwarded.ts";

const socket = { remoteAddress: "10.0.0.5" };

describe("forwarded headers are believed only as far as the operator trusts proxies", () => {
  test("with no trusted proxy they change nothing", () => {
    const view = forwardedView(
      { host: "app.internal:3000", "x-forwarded-proto": "https", "x-forwarded-host": "evil.test", "x-forwarded-for": "1.2.3.4" },
      socket,
      0,
    );
    expect(view).toEqual({ protocol: "http:", host: "app.internal:3000", clientAddress: "10.0.0.5" });
  });

  test("one trusted proxy: protocol and host from it, the client is the last X-Forwarded-For entry", () => {
    const view = forwardedView(
      { host: "app.internal", "x-forwarded-proto": "https", "x-forwarded-host": "app.example.test", "x-forwarded-for": "6.6.6.6, 203.0.113.7" },
      socket,
      1,
    );
    expect(view).toEqual({ protocol: "https:", host: "app.example.test", clientAddress: "203.0.113.7" });
  });

  test("two trusted proxies: the client is the second entry from the right, never the spoofable first", () => {
    const view = forwardedView({ host: "a", "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.1.1.1" }, socket, 2);
    expect(view.clientAddress).toBe("203.0.113.7");
  });

  test("fewer entries than trusted hops: the leftmost, all of which the proxies wrote", () => {
    expect(forwardedView({ host: "a", "x-forwarded-for": "203.0.113.7" }, socket, 2).clientAddress).toBe("203.0.113.7");
  });

  test("repeated X-Forwarded-For headers count as one list", () => {
    expect(forwardedView({ host: "a", "x-forwarded-for": ["6.6.6.6", "203.0.113.7"] }, socket, 1).clientAddress).toBe("203.0.113.7");
  });

  test("RFC 7239 Forwarded is read when no X-Forwarded-* is there", () => {
    const view = forwardedView(
      { host: "a", forwarded: 'for=6.6.6.6, for="[2001:db8::7]:4711";proto=https;host=app.example.test' },
      socket,
      1,
    );
    expect(view).toEqual({ protocol: "https:", host: "app.example.test", clientAddress: "2001:db8::7" });
  });

  test("garbage where an address should be falls back to the socket's address", () => {
    expect(forwardedView({ host: "a", "x-forwarded-for": "not-an-ip" }, socket, 1).clientAddress).toBe("10.0.0.5");
    expect(forwardedView({ host: "a", "x-forwarded-for": "203.0.113.7:5555" }, socket, 1).clientAddress).toBe("203.0.113.7");
  });

  test("an unknown forwarded protocol keeps the connection's own", () => {
    expect(forwardedView({ host: "a", "x-forwarded-proto": "gopher" }, socket, 1).protocol).toBe("http:");
  });
});

test("an IPv4 client on a dual-stack socket is its plain IPv4 address", () => {
  expect(forwardedView({ host: "a" }, { remoteAddress: "::ffff:127.0.0.1" }, 0).clientAddress).toBe("127.0.0.1");
});
