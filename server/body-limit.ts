import type { IncomingMessage } from "node:http";

/** SPEC: 64 KiB for forms and JSON; provider webhooks carry whole objects and get 1 MiB. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;
export const BODY_LIMITS: readonly { prefix: string; bytes: number }[] = [{ prefix: "/webhooks/", bytes: 1024 * 1024 }];

/** The most bytes a request body to `pathname` may have. */
export function bodyLimitFor(pathname: string): number {
  return BODY_LIMITS.find((entry) => pathname.startsWith(entry.prefix))?.bytes ?? DEFAULT_BODY_LIMIT;
}

/**
 * After a refusal the rest of the body is read and thrown away, so the
 * client sees the answer and its connection stays usable; past this much
 * (or this long) the client is not a browser posting a form, and the
 * connection is closed.
 */
export const DRAIN_MAX_BYTES = 8 * 1024 * 1024;
export const DRAIN_MAX_MS = 5_000;

export class PayloadTooLargeError extends Error {
  override readonly name = "PayloadTooLargeError";
  constructor() {
    super("Request body over the limit");
  }
}

/**
 * The request body as a web stream that counts bytes as they arrive (the
 * only way that holds for chunked bodies): past `limit` it errors with
 * `PayloadTooLargeError` and calls `onTooLarge` once. Reads are paced by the
 * consumer, so an unread body is not buffered. `release` stops feeding it
 * once the answer is out.
 */
export function limitedBody(
  req: IncomingMessage,
  limit: number,
  onTooLarge: () => void,
): { stream: ReadableStream<Uint8Array>; release: () => void } {
  let received = 0;
  let done = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const detach = () => {
    done = true;
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("close", onClose);
  };
  const onData = (chunk: Buffer) => {
    received += chunk.byteLength;
    if (received > limit) {
      detach();
      onTooLarge();
      controller.error(new PayloadTooLargeError());
      return;
    }
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  const onEnd = () => {
    detach();
    controller.close();
  };
  const onClose = () => {
    if (done) return;
    detach();
    controller.error(new DOMException("The client went away.", "AbortError"));
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        req.pause();
        req.on("data", onData);
        req.once("end", onEnd);
        req.once("close", onClose);
      },
      pull() {
        if (!done) req.resume();
      },
      cancel() {
        detach();
      },
    },
    { highWaterMark: 1 },
  );
  return { stream, release: detach };
}

/**
 * Reads and discards what is left of a request body once its answer is out,
 * so the connection can carry the next request. Past the drain budget the
 * client is not a browser posting a form: the connection is ended politely
 * (FIN, then a short linger reading and discarding) rather than reset, so
 * the client still reads the answer it was sent.
 */
export function drainBody(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let drained = 0;
  const timer = setTimeout(overBudget, DRAIN_MAX_MS);
  timer.unref();
  const onData = (chunk: Buffer) => {
    drained += chunk.byteLength;
    if (drained > DRAIN_MAX_BYTES) overBudget();
  };
  function finish() {
    req.off("data", onData);
    clearTimeout(timer);
  }
  function overBudget() {
    finish();
    if (req.complete) return;
    const socket = req.socket;
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }
  req.on("data", onData);
  req.once("end", finish);
  req.once("close", finish);
  req.resume();
}

/** How long a connection ended over budget keeps reading (and discarding) before it is closed. */
const LINGER_MS = 2_000;
