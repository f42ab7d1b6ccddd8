import { BulkheadRejectedError, bulkhead } from "cockatiel";
import { DEFAULT_SCRYPT_PARAMS, type DeriveKey, hashPassword, needsRehash, type ScryptParams, scryptKey, verifyPassword } from "./password.server.ts";

/** Hashing and checking passwords, with at most a few KDF runs at once for the whole process. */
export type PasswordHashing = {
  hash(password: string): Promise<string>;
  verify(password: string, encodedHash: string | null | undefined): Promise<boolean>;
  /** True when the hash was made with other parameters than these: rehash it at the next successful login. */
  needsRehash(encodedHash: string): boolean;
};

/** Every KDF slot and queue place is taken: the caller answers 503 with this Retry-After. */
export class PasswordHashingBusyError extends Error {
  override readonly name = "PasswordHashingBusyError";
  readonly retryAfterSeconds = 2;
  constructor() {
    super("password hashing is at capacity");
  }
}

/**
 * Each scrypt run takes 64 MiB and ~0.3 s of a core: two at once leave the rest of the machine
 * (and libuv's other threads) to other requests; a short queue absorbs a person's double click.
 */
export const DEFAULT_HASHING_CAPACITY = { maxConcurrent: 2, maxQueued: 8 };

export function createPasswordHashing(
  options: { maxConcurrent?: number; maxQueued?: number; deriveKey?: DeriveKey; params?: ScryptParams } = {},
): PasswordHashing {
  const { maxConcurrent, maxQueued } = { ...DEFAULT_HASHING_CAPACITY, ...options };
  const derive = options.deriveKey ?? scryptKey;
  const params = options.params ?? DEFAULT_SCRYPT_PARAMS;
  const slots = bulkhead(maxConcurrent, maxQueued);

  const bounded: DeriveKey = async (...args) => {
    try {
      return await slots.execute(() => derive(...args));
    } catch (error) {
      if (error instanceof BulkheadRejectedError) throw new PasswordHashingBusyError();
      throw error;
    }
  };

  return {
    hash: (password) => hashPassword(password, params, bounded),
    verify: (password, encodedHash) => verifyPassword(password, encodedHash, bounded, params),
    needsRehash: (encodedHash) => needsRehash(encodedHash, params),
  };
}
