import { Writable } from "node:stream";
import { createLogger, useLogger } from "~/observability/log.server.ts";

/** Everything the app logs (JSON lines, debug level and up) until `restore()`. */
export function captureLog(): { lines: string[]; text(): string; restore(): void } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  const restore = useLogger(createLogger({ level: "debug", destination }));
  return { lines, text: () => lines.join("\n"), restore };
}
