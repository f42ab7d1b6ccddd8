/** Every mail template's name (the templates themselves, and React Email, load only when a mail is rendered). */
export const TEMPLATE_NAMES = [
  "password-reset",
  "email-change",
  "subscription-started",
  "payment-failed",
  "cancellation-scheduled",
  "subscription-ended",
  "trial-ending",
  "invitation",
] as const;

export type TemplateName = (typeof TEMPLATE_NAMES)[number];
