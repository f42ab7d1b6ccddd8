import nodemailer, { type Transporter } from "nodemailer";
import { z } from "zod";
import { enqueueJob, type JobHandler, type JobWriter, PermanentJobError } from "~/jobs/jobs.server.ts";
import { TEMPLATE_NAMES, type TemplateName } from "./template-names.ts";
import type { TemplateProps } from "./templates.tsx";

/**
 * The app's mail (SPEC "Email"), one face: `enqueueMail` writes a mail to the outbox (a job of the
 * one runner, app/jobs/) inside the caller's transaction; `createMailer` sends it over SMTP.
 */

export const MAIL_JOB_KIND = "mail";

/** A header value with CR or LF could add headers of its own (header injection): refused, never sent. */
export function isSafeHeaderValue(value: string): boolean {
  return !/[\r\n]/.test(value);
}

const Recipient = z.email().max(254).refine(isSafeHeaderValue);

const MailPayload = z.object({
  template: z.enum(TEMPLATE_NAMES),
  to: Recipient,
  props: z.record(z.string(), z.string()),
});
type MailPayload = z.infer<typeof MailPayload>;

export type OutgoingMail<Name extends TemplateName> = {
  template: Name;
  to: string;
  props: TemplateProps<Name>;
  /** What the mail is about (a user, a subscription and period…): one mail per (template, subject) ever. */
  subject: string;
};

/** Writes a mail to the outbox in the caller's transaction; false when this (template, subject) was already written. */
export async function enqueueMail<Name extends TemplateName>(writer: JobWriter, mail: OutgoingMail<Name>): Promise<boolean> {
  const payload: MailPayload = { template: mail.template, to: mail.to, props: mail.props as Record<string, string> };
  // Refused here too, so a bad address never reaches the outbox (the cause's transaction fails instead).
  if (!Recipient.safeParse(mail.to).success) throw new PermanentJobError("invalid-recipient");
  return enqueueJob(writer, { kind: MAIL_JOB_KIND, dedupKey: `mail:${mail.template}:${mail.subject}`, payload });
}

export type MailerOptions = {
  /** Where to send: SMTP_URL, or the local mailbox's URL (asked for lazily, the emulator may start later). */
  smtpUrl: () => Promise<string | null>;
  /** MAIL_FROM. */
  from: string;
};

export type Mailer = {
  /** The outbox's job handler: renders the mail and sends it; throws to be retried. */
  handleJob: JobHandler;
  close(): void;
};

/** SMTP timeouts, well inside the job lease (60 s), so a slow server never lets a second instance send the same mail. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

export function createMailer({ smtpUrl, from }: MailerOptions): Mailer {
  if (!isSafeHeaderValue(from)) throw new Error("MAIL_FROM must not contain line breaks.");
  let transport: { url: string; transporter: Transporter } | undefined;

  async function transporter(): Promise<Transporter> {
    const url = await smtpUrl();
    // No SMTP server yet (development without SMTP_URL or emulator): the mail waits in the outbox.
    if (!url) throw new MailNotConfiguredError();
    if (transport?.url !== url) {
      transport?.transporter.close();
      transport = { url, transporter: nodemailer.createTransport({ url, pool: true, maxConnections: 4, ...SMTP_TIMEOUTS }) };
    }
    return transport.transporter;
  }

  return {
    async handleJob(payload) {
      const parsed = MailPayload.safeParse(payload);
      if (!parsed.success) throw new PermanentJobError("invalid-mail");
      const { template, to, props } = parsed.data;
      // Loaded on the first mail: React Email's import costs about a second, which no start-up should pay.
      const { renderMail } = await import("./templates.tsx");
      const rendered = await renderMail(template, props as never);
      if (!isSafeHeaderValue(rendered.subject)) throw new PermanentJobError("unsafe-subject");
      try {
        await (await transporter()).sendMail({ from, to, subject: rendered.subject, html: rendered.html, text: rendered.text });
      } catch (error) {
        // The server refused the message for good (5xx: no such mailbox, policy): retrying cannot help.
        const code = (error as { responseCode?: unknown }).responseCode;
        if (typeof code === "number" && code >= 500) throw new PermanentJobError(`smtp-${code}`);
        throw error;
      }
    },
    close() {
      transport?.transporter.close();
    },
  };
}

export class MailNotConfiguredError extends Error {
  override readonly name = "MailNotConfiguredError";
  constructor() {
    super("No SMTP server: set SMTP_URL.");
  }
}
