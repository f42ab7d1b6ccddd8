import * as fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CANCEL_REQUEST_CODE, ClientStream, type ClientUnit, PROTOCOL_VERSION_3, ProtocolViolation, SSL_REQUEST_CODE } from "./embedded-wire.ts";

function packet(code: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const bytes = new Uint8Array(8 + body.length);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, bytes.length);
  view.setInt32(4, code);
  bytes.set(body, 8);
  return bytes;
}

function message(type: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const bytes = new Uint8Array(5 + body.length);
  bytes[0] = type.charCodeAt(0);
  new DataView(bytes.buffer).setInt32(1, 4 + body.length);
  bytes.set(body, 5);
  return bytes;
}

const join = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));
const startup = packet(PROTOCOL_VERSION_3, new TextEncoder().encode("user\0postgres\0database\0postgres\0\0"));

/** Feeds the bytes cut at the given points and gathers every unit. */
function unitsOf(bytes: Uint8Array, cuts: number[] = []): ClientUnit[] {
  const stream = new ClientStream();
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].toSorted((a, b) => a - b);
  const units: ClientUnit[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    units.push(...stream.push(bytes.slice(from, point)));
    from = point;
  }
  return units;
}

describe("the embedded database's wire reader", () => {
  test("answers encryption requests apart, runs the start-up alone, then runs typed messages up to where the client waits", () => {
    const parse = message("P", new Uint8Array([0, 0x73, 0x65, 0x6c, 0]));
    const bind = message("B", new Uint8Array([0, 0, 0, 0, 0, 0, 0]));
    const units = unitsOf(join([packet(SSL_REQUEST_CODE), startup, parse, bind, message("E"), message("S"), message("Q", new Uint8Array([0x3b, 0])), message("X")]));
    expect(units).toEqual([
      { kind: "encryption-request" },
      { kind: "run", bytes: startup, endsAtSync: true },
      { kind: "run", bytes: join([parse, bind, message("E"), message("S")]), endsAtSync: true },
      { kind: "run", bytes: message("Q", new Uint8Array([0x3b, 0])), endsAtSync: true },
      { kind: "terminate" },
    ]);
  });

  test("holds an extended query until its Sync (or a Flush), so no other connection's statement lands inside it", () => {
    const stream = new ClientStream();
    stream.push(startup);
    expect(stream.push(join([message("P"), message("B")]))).toEqual([]);
    expect(stream.push(join([message("D"), message("H")]))).toEqual([{ kind: "run", bytes: join([message("P"), message("B"), message("D"), message("H")]), endsAtSync: false }]);
    expect(stream.push(message("S"))).toEqual([{ kind: "run", bytes: message("S"), endsAtSync: true }]);
  });

  test("a cancel request is dropped, not run", () => {
    expect(unitsOf(packet(CANCEL_REQUEST_CODE, new Uint8Array(8)))).toEqual([{ kind: "cancel" }]);
  });

  test("bytes that are not the protocol are refused", () => {
    expect(() => unitsOf(packet(1234))).toThrow(ProtocolViolation);
    expect(() => unitsOf(join([startup, Uint8Array.of(0x51, 0, 0, 0, 2)]))).toThrow(ProtocolViolation);
    expect(() => unitsOf(join([startup, Uint8Array.of(0x51, 0x7f, 0xff, 0xff, 0xff)]))).toThrow(ProtocolViolation);
  });

  test("wherever the chunks fall, the units are the same as from one chunk", () => {
    const typed = fc
      .tuple(fc.constantFrom("P", "B", "D", "E", "C", "S", "Q", "H"), fc.uint8Array({ maxLength: 40 }))
      .map(([type, body]) => message(type, body));
    fc.assert(
      fc.property(fc.array(typed, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const bytes = join([startup, ...messages]);
        expect(unitsOf(bytes, cuts)).toEqual(unitsOf(bytes));
      }),
      { numRuns: 500 },
    );
  });
});
