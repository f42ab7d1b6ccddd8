/**
 * The PostgreSQL wire protocol as a client sends it, cut into what the embedded database runs
 * at once. Loaded natively by the database worker (Node strips the types), so it imports
 * nothing but types.
 *
 * A client's bytes arrive in chunks that fall anywhere. They are cut into messages: first the
 * untyped start-up packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage: a length
 * and a code), then typed messages (a type byte and a length). Messages are grouped into units
 * that end where the client waits for an answer: Sync, a simple Query, Flush, or the end of a
 * copy. A unit is run whole, so no other connection's statement lands between one client's
 * Parse and its Sync (PGlite is one backend shared by every connection).
 */

export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_VERSION_3 = 196608;

/** PostgreSQL refuses larger messages too (1 GiB); a length past it means the stream is not the protocol. */
const MAX_MESSAGE_LENGTH = 0x3fffffff;

/** Message types after which the client waits for the server: the end of a unit. */
const UNIT_ENDS = new Set(["S", "Q", "H", "c", "f"]);

export type ClientUnit =
  /** SSLRequest or GSSENCRequest: answered "N" (no encryption; the socket is private to this process). */
  | { kind: "encryption-request" }
  /** CancelRequest: PGlite has no backend process to signal; it is dropped, as the protocol allows. */
  | { kind: "cancel" }
  /** Terminate: the client is leaving; the connection is closed, the database is not told. */
  | { kind: "terminate" }
  /** StartupMessage or a run of typed messages ending where the client waits: run as they are. */
  | { kind: "run"; bytes: Uint8Array; endsAtSync: boolean };

export class ProtocolViolation extends Error {
  override readonly name = "ProtocolViolation";
}

/** Cuts one connection's incoming bytes into units. Throws ProtocolViolation on bytes that are not the protocol. */
export class ClientStream {
  #buffer: Uint8Array = new Uint8Array(0);
  #started = false;

  push(chunk: Uint8Array): ClientUnit[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : concat(this.#buffer, chunk);
    const units: ClientUnit[] = [];
    /** Where the unit being read starts: typed messages before `offset` not yet ended by one the client waits after. */
    let unitStart = 0;
    let offset = 0;
    const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
    while (true) {
      if (!this.#started) {
        if (this.#buffer.length - offset < 8) break;
        const length = view.getInt32(offset);
        const code = view.getInt32(offset + 4);
        if (length < 8 || length > 10_000) throw new ProtocolViolation(`start-up packet of ${length} bytes`);
        if (this.#buffer.length - offset < length) break;
        if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) units.push({ kind: "encryption-request" });
        else if (code === CANCEL_REQUEST_CODE) units.push({ kind: "cancel" });
        else if (code === PROTOCOL_VERSION_3) {
          units.push({ kind: "run", bytes: this.#buffer.slice(offset, offset + length), endsAtSync: true });
          this.#started = true;
        } else throw new ProtocolViolation(`start-up code ${code}`);
        offset += length;
        unitStart = offset;
        continue;
      }
      if (this.#buffer.length - offset < 5) break;
      const type = String.fromCharCode(this.#buffer[offset]!);
      const length = view.getInt32(offset + 1);
      if (length < 4 || length > MAX_MESSAGE_LENGTH) throw new ProtocolViolation(`message of ${length} bytes`);
      if (this.#buffer.length - offset < 1 + length) break;
      offset += 1 + length;
      if (type === "X") {
        units.push({ kind: "terminate" });
        unitStart = offset;
      } else if (UNIT_ENDS.has(type)) {
        units.push({ kind: "run", bytes: this.#buffer.slice(unitStart, offset), endsAtSync: type === "S" || type === "Q" });
        unitStart = offset;
      }
    }
    this.#buffer = this.#buffer.subarray(unitStart);
    return units;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
