import { Writable } from "node:stream";
import { createLogger, useLogger } from "~/observability/log.server.ts";

/** Sends the app's log lines to memory for the length of a test: `text()` is everything logged since. */
export function captureLog(): { text(): string; restore(): void } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  const restore = useLogger(createLogger({ level: "debug", destination }));
  return { text: () => chunks.join(""), restore };
}
