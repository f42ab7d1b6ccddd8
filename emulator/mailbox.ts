import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from "./wire.ts";

/** One message as the local mailbox caught it (SPEC "Email": `to`, `subject`, `text`, `html`). */
export type CaughtMail = {
  id: number;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
};

/** Oldest messages are dropped beyond this, so a long demo session stays small. */
const MAX_MESSAGES = 5000;
/** A message larger than this is refused by the catcher, as a real server would. */
const MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

export type Mailbox = {
  /** `smtp://127.0.0.1:<port>`: where the app sends in development and emulated mode. */
  readonly smtpUrl: string;
  messages(): CaughtMail[];
  /** Forgets every caught message (tests; `DELETE /__emulator/mail`). */
  clear(): void;
  /** Answers `/__emulator/mail…`; undefined for any other path. */
  handle(request: EmulatorRequest): EmulatorResponse | undefined;
  close(): Promise<void>;
};

/**
 * A real SMTP server (smtp-server) that keeps every message it is sent, so the app's mail goes over
 * SMTP in development and tests exactly as in production, and flows work offline.
 */
export async function startMailbox(options: { host?: string; port?: number } = {}): Promise<Mailbox> {
  const host = options.host ?? "127.0.0.1";
  let caught: CaughtMail[] = [];
  let nextId = 1;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, session, callback) {
      // The parser loads with the first message, so an emulator that never gets mail does not pay for it.
      import("mailparser")
        .then(({ simpleParser }) => simpleParser(stream))
        .then((parsed) => {
          caught.push({
            id: nextId++,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((recipient) => recipient.address),
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
            receivedAt: new Date().toISOString(),
          });
          if (caught.length > MAX_MESSAGES) caught.shift();
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error("Unreadable message")));
    },
  });
  // A client that drops the connection mid-message is its own problem, not the emulator's end.
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  function messages(): CaughtMail[] {
    return structuredClone(caught);
  }

  function clear(): void {
    caught = [];
  }

  function handle(request: EmulatorRequest): EmulatorResponse | undefined {
    const route = `${request.method} ${request.path}`;
    if (route === "GET /__emulator/mail") {
      const to = request.query.get("to")?.toLowerCase();
      return jsonResponse(200, to ? caught.filter((mail) => mail.to.some((address) => address.toLowerCase() === to)) : caught);
    }
    if (route === "DELETE /__emulator/mail") {
      clear();
      return { status: 204, body: "" };
    }
    if (route === "GET /__emulator/mail/smtp") return jsonResponse(200, { url: `smtp://${host}:${port}` });
    if (route === "GET /__emulator/mailbox") return mailboxPage(caught);
    return undefined;
  }

  return {
    smtpUrl: `smtp://${host}:${port}`,
    messages,
    clear,
    handle,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/** The local mailbox as a page: newest first, each message's HTML in a sandboxed frame (no scripts). */
function mailboxPage(caught: CaughtMail[]): EmulatorResponse {
  const items = caught
    .toReversed()
    .map(
      (mail) => `<article class="mail">
  <h2>${escapeHtml(mail.subject)}</h2>
  <p class="meta">To ${escapeHtml(mail.to.join(", "))} · ${escapeHtml(mail.receivedAt)}</p>
  <iframe sandbox="" title="${escapeHtml(mail.subject)}" srcdoc="${escapeHtml(mail.html)}"></iframe>
  <details><summary>Plain text</summary><pre>${escapeHtml(mail.text)}</pre></details>
</article>`,
    )
    .join("\n");
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local mailbox · Emulator</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}
.mail{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}.meta{color:#555}
iframe{width:100%;min-height:20rem;border:1px solid #eee}pre{white-space:pre-wrap}</style></head>
<body><h1>Local mailbox</h1><p>${caught.length} message(s) caught by the emulator's SMTP server. JSON: <code>GET /__emulator/mail</code>.</p>
${items || "<p>No mail yet.</p>"}
</body></html>`;
  return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body };
}

function escapeHtml(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}
