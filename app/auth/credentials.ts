import { z } from "zod";

/** Emails are compared as typed by most people: without surrounding spaces, in lower case. */
export const EmailSchema = z
  .string({ error: "Enter your email address." })
  .trim()
  .toLowerCase()
  .min(1, { error: "Enter your email address." })
  .max(254, { error: "This email address is too long." })
  .pipe(z.email({ error: "Enter a valid email address, like name@example.com." }));

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export const SignupSchema = z.object({
  email: EmailSchema,
  password: z
    .string({ error: "Choose a password." })
    .min(PASSWORD_MIN_LENGTH, { error: `Use at least ${PASSWORD_MIN_LENGTH} characters for your password.` })
    .max(PASSWORD_MAX_LENGTH, { error: `Use at most ${PASSWORD_MAX_LENGTH} characters for your password.` }),
});

/**
 * Login checks only that both fields are there: any other problem is answered with the one
 * generic message, and the length rule may have been different when the password was chosen.
 */
export const LoginSchema = z.object({
  email: EmailSchema,
  // The upper bound only keeps a megabyte "password" from reaching the KDF.
  password: z.string({ error: "Enter your password." }).min(1, { error: "Enter your password." }).max(1024),
});

export type SignupCredentials = z.infer<typeof SignupSchema>;
export type LoginCredentials = z.infer<typeof LoginSchema>;

/** The submitted email as typed, for putting back into the form (never a File). */
export function submittedEmail(form: FormData): string {
  const value = form.get("email");
  return typeof value === "string" ? value.trim() : "";
}
