import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD } from "~/demo/demo-accounts.ts";
import { commonPasswordCount, COMMON_PASSWORD_MESSAGE, newPasswordProblem, WHITESPACE_PASSWORD_MESSAGE } from "./password-rules.server.ts";

describe("new password rules (NIST SP 800-63B)", () => {
  it("refuses commonly used and breached passwords from an offline list of at least 10,000, saying why", () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
    for (const password of ["password", "12345678", "PASSWORD", "qwertyuiop", "iloveyou"]) {
      expect({ password, problem: newPasswordProblem(password) }).toEqual({ password, problem: COMMON_PASSWORD_MESSAGE });
    }
  });

  it("refuses a password of only whitespace, however long", () => {
    expect(newPasswordProblem("        ")).toBe(WHITESPACE_PASSWORD_MESSAGE);
    expect(newPasswordProblem(" \t\n ".repeat(5))).toBe(WHITESPACE_PASSWORD_MESSAGE);
  });

  it("takes 8 to 128 characters, counting an emoji as one", () => {
    expect(newPasswordProblem("seven c")).toMatch(/at least 8/);
    expect(newPasswordProblem("x".repeat(129))).toMatch(/at most 128/);
    expect(newPasswordProblem("ab🦊cd🦊ef")).toBeNull(); // 8 characters, 10 UTF-16 units
    expect(newPasswordProblem("🦊".repeat(128))).toBeNull();
  });

  it("has no composition rules: lower-case words pass, and the demo password stays valid", () => {
    expect(newPasswordProblem("correct horse battery staple")).toBeNull();
    expect(newPasswordProblem(DEMO_PASSWORD)).toBeNull();
  });

  it("refuses anything that is not a string", () => {
    expect(newPasswordProblem(undefined)).toBe("Choose a password.");
  });
});
