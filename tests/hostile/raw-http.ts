import { type Socket, connect } from "node:net";

export type RawResponse = { status: number; headers: Map<string, string[]>; body: Buffer; head: string };

/** How a connection ended: a clean close (FIN), a reset (RST), or not at all within the wait. */
export type Ending = "closed" | "reset" | "still-open";

/**
 * One TCP connection to the app, spoken to in raw bytes: for requests no
 * HTTP client would send (lying lengths, doubled headers, broken request
 * lines). Reads the answers back with a small HTTP/1.1 response parser.
 */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private ending: Ending | null = null;
  private wake: (() => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    socket.on("end", () => this.end("closed"));
    socket.on("close", () => this.end("closed"));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A write into a connection the server already closed is our late write, not its reset.
      this.end(error.code === "EPIPE" ? "closed" : "reset");
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: "127.0.0.1" }, () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends bytes; a server that has already answered and closed may refuse the rest, which is its right. */
  async write(data: string | Buffer): Promise<void> {
    if (this.ending || this.socket.destroyed) return;
    await new Promise<void>((done) => this.socket.write(data, () => done()));
  }

  /** Writes `body` in chunks, pausing for the socket to drain, so large bodies stream as a client's would. */
  async writeAll(parts: (string | Buffer)[]): Promise<void> {
    for (const part of parts) await this.write(part);
  }

  /** The next complete response, or how the connection ended if none comes within `timeoutMs`. */
  async nextResponse(timeoutMs: number): Promise<RawResponse | Ending> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.buffer, this.ending !== null);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.length);
        return parsed.response;
      }
      if (this.ending) return this.ending;
      const left = deadline - Date.now();
      if (left <= 0) return "still-open";
      await new Promise<void>((done) => {
        const timer = setTimeout(done, left);
        this.wake = () => {
          clearTimeout(timer);
          done();
        };
      });
    }
  }

  /** How the connection ends within `timeoutMs` when we send nothing more. */
  async waitForEnd(timeoutMs: number): Promise<Ending> {
    const deadline = Date.now() + timeoutMs;
    // Bytes waiting to be read mean the connection is still talking: leave them for nextResponse.
    while (!this.ending && this.buffer.length === 0 && Date.now() < deadline) {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          done();
        };
      });
    }
    return this.buffer.length > 0 ? "still-open" : (this.ending ?? "still-open");
  }

  get ended(): Ending | null {
    return this.ending;
  }

  destroy() {
    this.socket.destroy();
  }

  private end(how: Ending) {
    this.ending ??= how;
    this.notify();
  }

  private notify() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** A response at the start of `buffer`, with its length in bytes, once it is complete. */
function parseResponse(buffer: Buffer, connectionEnded: boolean): { response: RawResponse; length: number } | null {
  const headEnd = buffer.indexOf("\r\n\r\n");
  if (headEnd === -1) return null;
  const head = buffer.subarray(0, headEnd).toString("latin1");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? "0");
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const bodyStart = headEnd + 4;
  const respond = (body: Buffer, length: number) => ({ response: { status, headers, body, head }, length });

  if ((status >= 100 && status < 200) || status === 204 || status === 304) return respond(Buffer.alloc(0), bodyStart);
  if (headers.get("transfer-encoding")?.some((value) => /chunked/i.test(value))) {
    const chunks: Buffer[] = [];
    let offset = bodyStart;
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", offset);
      if (lineEnd === -1) return null;
      const size = Number.parseInt(buffer.subarray(offset, lineEnd).toString("latin1"), 16);
      if (Number.isNaN(size)) return respond(buffer.subarray(bodyStart), buffer.length);
      const dataStart = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buffer.indexOf("\r\n\r\n", lineEnd);
        if (trailerEnd === -1 && buffer.length < dataStart + 2) return null;
        return respond(Buffer.concat(chunks), trailerEnd === -1 ? dataStart + 2 : trailerEnd + 4);
      }
      if (buffer.length < dataStart + size + 2) return null;
      chunks.push(buffer.subarray(dataStart, dataStart + size));
      offset = dataStart + size + 2;
    }
  }
  const declared = headers.get("content-length")?.[0];
  if (declared !== undefined) {
    const end = bodyStart + Number(declared);
    return buffer.length >= end ? respond(buffer.subarray(bodyStart, end), end) : null;
  }
  // Neither: the body runs to the end of the connection.
  return connectionEnded ? respond(buffer.subarray(bodyStart), buffer.length) : null;
}

/** A body sent with `Transfer-Encoding: chunked`, in chunks of `chunkSize` bytes. */
export function chunked(body: Buffer, chunkSize: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += chunkSize) {
    const chunk = body.subarray(offset, offset + chunkSize);
    parts.push(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return parts;
}
