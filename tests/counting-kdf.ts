import { type DeriveKey, scryptKey } from "~/auth/password.server.ts";
import type { PrismaClient } from "~/db/generated/client.ts";

/**
 * A KDF that counts its runs. `cheap` swaps in small scrypt parameters (for tests that hash
 * dozens of times); hashes must then be made with the same KDF so that they verify.
 */
export function countingKdf(options: { cheap: boolean }) {
  let runs = 0;
  const deriveKey: DeriveKey = (password, salt, keyBytes, params) => {
    runs += 1;
    return scryptKey(password, salt, keyBytes, options.cheap ? { logN: 10, r: 8, p: 1 } : params);
  };
  return { deriveKey, runs: () => runs };
}

/** Moves every rate-limit window into the past, as if its time had passed. */
export async function letRateLimitWindowsPass(prisma: PrismaClient): Promise<void> {
  await prisma.rateLimit.updateMany({ data: { expire: BigInt(Date.now() - 1000) } });
}
