import { dictionary } from "@zxcvbn-ts/language-common";
import { z } from "zod";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./credentials.ts";

/**
 * A new password's rules, the same at signup, reset and change (SPEC "Auth", NIST SP 800-63B 5.1.1.2):
 * 8 to 128 characters, not all whitespace, no composition rules, and not one of the passwords
 * attackers try first. The list is zxcvbn-ts' common-password dictionary (about 49,000, of which
 * about 18,000 are long enough to pass the length rule), checked offline and case-insensitively.
 */
let commonPasswords: ReadonlySet<string> | undefined;

/** Built on first use: a set of 49,000 words takes a few hundred milliseconds that start-up need not pay. */
function common(): ReadonlySet<string> {
  commonPasswords ??= new Set(dictionary["passwords-common"].map((password) => password.toLowerCase()));
  return commonPasswords;
}

export const COMMON_PASSWORD_MESSAGE =
  "This password is too common: it is on a list of passwords that attackers try first. Choose another one, a few unrelated words work well.";
export const WHITESPACE_PASSWORD_MESSAGE = "Your password cannot be only spaces. Choose one with other characters too.";

/** How many passwords the rule refuses (tests check the list is the size the SPEC asks for). */
export function commonPasswordCount(): number {
  return common().size;
}

export function isCommonPassword(password: string): boolean {
  return common().has(password.toLowerCase());
}

/** Characters as a person counts them (an emoji is one), not UTF-16 units. */
function characterCount(password: string): number {
  return [...password].length;
}

export const NewPasswordSchema = z
  .string({ error: "Choose a password." })
  .refine((password) => characterCount(password) >= PASSWORD_MIN_LENGTH, {
    error: `Use at least ${PASSWORD_MIN_LENGTH} characters for your password.`,
    abort: true,
  })
  .refine((password) => characterCount(password) <= PASSWORD_MAX_LENGTH, {
    error: `Use at most ${PASSWORD_MAX_LENGTH} characters for your password.`,
    abort: true,
  })
  .refine((password) => password.trim() !== "", { error: WHITESPACE_PASSWORD_MESSAGE, abort: true })
  .refine((password) => !isCommonPassword(password), { error: COMMON_PASSWORD_MESSAGE });

/** The first reason a new password is refused, or null when it may be used. */
export function newPasswordProblem(password: unknown): string | null {
  const parsed = NewPasswordSchema.safeParse(password);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? "Choose another password.");
}
