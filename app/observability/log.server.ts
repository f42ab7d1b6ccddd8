import { pino, type DestinationStream, type Logger } from "pino";

type Level = "debug" | "info" | "warn" | "error";
type Field = string | number | boolean | null | undefined;

/**
 * Headers and fields that must never reach a log line, whoever logs them: a
 * safety net under the rule that callers log chosen fields only (the access
 * line carries no headers at all).
 */
export const REDACTED_PATHS = [
  "req.headers.cookie",
  "req.headers.authorization",
  "req.headers[\"x-api-key\"]",
  "req.headers[\"stripe-signature\"]",
  "req.headers[\"webhook-signature\"]",
  "req.headers[\"x-signature\"]",
  "res.headers[\"set-cookie\"]",
  "password",
  "token",
  "secret",
  "apiKey",
];

/**
 * Builds the process logger: JSON lines (pino), with secrets redacted. A
 * destination can be given for tests that read what was logged.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      // Errors are never serialised with their stack: callers log names and kinds only.
      serializers: { err: (error: unknown) => ({ name: error instanceof Error ? error.name : typeof error }) },
    },
    options.destination,
  );
}

let current: Logger = createLogger();

/** Sets the level from the configuration (LOG_LEVEL), once at start. */
export function setLogLevel(level: string) {
  current.level = level;
}

/** The process logger (pino). The server's access log writes through it too. */
export function logger(): Logger {
  return current;
}

/** Tests swap the destination to read the lines; returns a function that restores the previous logger. */
export function useLogger(next: Logger): () => void {
  const previous = current;
  current = next;
  return () => {
    current = previous;
  };
}

/**
 * One JSON line per event. Callers pass only fields they chose (ids, kinds,
 * fixed phrases): never a provider's message, a stack, a key or a URL with a
 * token, so nothing secret can reach the log through here.
 */
export function logEvent(level: Level, event: string, fields: Record<string, Field> = {}) {
  current[level]({ event, ...fields });
}
