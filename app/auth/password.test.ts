import { describe, expect, it, vi } from "vitest";
import { DEFAULT_SCRYPT_PARAMS, hashPassword, needsRehash, verifyPassword } from "./password.server.ts";

type ScryptCall = { N?: number; r?: number; p?: number; keyBytes: number; salt: number };
const scryptCalls: ScryptCall[] = [];

// Records each scrypt call (then runs the real one), to see how much work a check does.
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  const scrypt = (...args: Parameters<typeof crypto.scrypt>) => {
    const [, salt, keyBytes, options] = args;
    if (typeof options === "object") {
      scryptCalls.push({ N: options.N, r: options.r, p: options.p, keyBytes, salt: Buffer.byteLength(salt as Buffer) });
    }
    return (crypto.scrypt as (...a: unknown[]) => void)(...args);
  };
  return { ...crypto, default: { ...crypto, scrypt }, scrypt };
});

describe("password hashing", () => {
  it("accepts the right password and refuses a wrong one", async () => {
    const hash = await hashPassword("correct horse battery staple");
    expect(await verifyPassword("correct horse battery staple", hash)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", hash)).toBe(false);
    expect(await verifyPassword("", hash)).toBe(false);
  });

  it("stores a self-describing scrypt hash, never the password", async () => {
    const hash = await hashPassword("portal-demo-pass");
    const { logN, r, p } = DEFAULT_SCRYPT_PARAMS;
    expect(hash).toMatch(new RegExp(`^\\$scrypt\\$ln=${logN},r=${r},p=${p}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`));
    expect(hash).not.toContain("portal-demo-pass");
  });

  it("salts every hash, so the same password hashes differently", async () => {
    const [first, second] = await Promise.all([hashPassword("same password"), hashPassword("same password")]);
    expect(first).not.toBe(second);
    expect(first.split("$")[3]).not.toBe(second.split("$")[3]);
    expect(await verifyPassword("same password", first)).toBe(true);
    expect(await verifyPassword("same password", second)).toBe(true);
  });

  it("still verifies hashes made with older parameters, and flags them for a rehash", async () => {
    const old = await hashPassword("an older password", { logN: 14, r: 8, p: 1 });
    expect(old.startsWith("$scrypt$ln=14,r=8,p=1$")).toBe(true);
    expect(await verifyPassword("an older password", old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
    expect(needsRehash(await hashPassword("a new password"))).toBe(false);
  });

  it("matches the same password typed in another Unicode normal form", async () => {
    const hash = await hashPassword("caf\u00e9 au lait");
    expect(await verifyPassword("cafe\u0301 au lait", hash)).toBe(true);
  });

  it("refuses, without throwing, when there is no hash or a malformed one", async () => {
    const hash = await hashPassword("a password");
    const [, , , salt, key] = hash.split("$");
    for (const bad of [
      null,
      undefined,
      "",
      "a password",
      `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${key}`,
      `$scrypt$ln=30,r=8,p=1$${salt}$${key}`, // would need 256 GiB
      `$scrypt$ln=16,r=8,p=1$${salt}$`,
      `$scrypt$ln=16,r=8,p=1$${salt}$${key!.slice(0, 8)}`,
    ]) {
      expect(await verifyPassword("a password", bad)).toBe(false);
    }
  });

  it("runs the full KDF with today's parameters when there is no hash, so unknown emails do not answer faster", async () => {
    const hash = await hashPassword("a password");
    scryptCalls.length = 0;
    await verifyPassword("wrong password", hash);
    await verifyPassword("wrong password", null);
    await verifyPassword("wrong password", "not a hash");
    expect(scryptCalls).toHaveLength(3);
    const real = scryptCalls[0]!;
    for (const call of scryptCalls) {
      expect(call).toEqual({ ...real, salt: expect.any(Number) });
      expect(call.N).toBe(2 ** DEFAULT_SCRYPT_PARAMS.logN);
    }
  });
});
