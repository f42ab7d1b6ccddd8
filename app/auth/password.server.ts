import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

export type ScryptParams = { logN: number; r: number; p: number };

/**
 * N=2^16, r=8, p=1: 64 MiB and ~0.3 s per hash on a 2-core CI box, more memory×time for an
 * attacker than OWASP's N=2^15,p=3 option, and libuv's 4 threads cap our own peak at 256 MiB.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { logN: 16, r: 8, p: 1 };

/**
 * N=2^10: about a millisecond. Only for test runs whose subject is not hashing (PASSWORD_HASH_COST=low,
 * refused with APP_ENV=production): the hashing, login-timing and rate-limit tests keep the real cost.
 */
export const LOW_COST_SCRYPT_PARAMS: ScryptParams = { logN: 10, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Bounds for parameters read back from the database, so a corrupt row cannot pin the CPU or memory. */
const LIMITS = { logN: [10, 20], r: [1, 32], p: [1, 16], keyBytes: [16, 64], saltBytes: [8, 64] } as const;
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Hashes a password into a self-describing PHC-style string,
 * `$scrypt$ln=16,r=8,p=1$<salt>$<key>` (unpadded base64), so parameters can change later.
 */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
  deriveKey: DeriveKey = scryptKey,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, KEY_BYTES, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${toBase64(salt)}$${toBase64(key)}`;
}

/**
 * True when `password` matches `encodedHash`. Without a hash (unknown email, user without a
 * password) it still spends the time of a real check, so response times do not reveal which
 * emails exist. A malformed hash never matches.
 */
export async function verifyPassword(
  password: string,
  encodedHash: string | null | undefined,
  deriveKey: DeriveKey = scryptKey,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<boolean> {
  const parsed = encodedHash ? parseHash(encodedHash) : null;
  if (!parsed) {
    await deriveKey(password, randomBytes(SALT_BYTES), KEY_BYTES, params);
    return false;
  }
  const key = await deriveKey(password, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** True when the hash was made with other parameters than today's: rehash it at the next successful login. */
export function needsRehash(encodedHash: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseHash(encodedHash);
  if (!parsed) return true;
  return (
    parsed.params.logN !== params.logN ||
    parsed.params.r !== params.r ||
    parsed.params.p !== params.p ||
    parsed.key.length !== KEY_BYTES
  );
}

type ParsedHash = { params: ScryptParams; salt: Buffer; key: Buffer };

const HASH_FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function parseHash(encodedHash: string): ParsedHash | null {
  const match = HASH_FORMAT.exec(encodedHash);
  if (!match) return null;
  const [, logN, r, p, salt, key] = match;
  const parsed = {
    params: { logN: Number(logN), r: Number(r), p: Number(p) },
    salt: Buffer.from(salt!, "base64"),
    key: Buffer.from(key!, "base64"),
  };
  const valid =
    within(parsed.params.logN, LIMITS.logN) &&
    within(parsed.params.r, LIMITS.r) &&
    within(parsed.params.p, LIMITS.p) &&
    within(parsed.salt.length, LIMITS.saltBytes) &&
    within(parsed.key.length, LIMITS.keyBytes) &&
    memoryBytes(parsed.params) <= MAX_MEMORY_BYTES;
  return valid ? parsed : null;
}

function within(value: number, [min, max]: readonly [number, number]): boolean {
  return value >= min && value <= max;
}

/** The KDF itself: a parameter of hashPassword and verifyPassword, so it can be bounded (and counted in tests). */
export type DeriveKey = (password: string, salt: Buffer, keyBytes: number, params: ScryptParams) => Promise<Buffer>;

export const scryptKey: DeriveKey = (password, salt, keyBytes, params) => {
  const options: ScryptOptions = {
    N: 2 ** params.logN,
    r: params.r,
    p: params.p,
    // Node refuses anything above 32 MiB by default; allow what these parameters need.
    maxmem: memoryBytes(params) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, keyBytes, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
};

/** scrypt's working memory: 128·N·r bytes for V, plus 128·r·p for B. */
function memoryBytes(params: ScryptParams): number {
  return 128 * params.r * (2 ** params.logN + params.p);
}

function toBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}
