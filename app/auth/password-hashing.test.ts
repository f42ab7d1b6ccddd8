import { describe, expect, it } from "vitest";
import { createPasswordHashing, PasswordHashingBusyError } from "./password-hashing.server.ts";
import { scryptKey, type DeriveKey } from "./password.server.ts";

describe("bounded password hashing", () => {
  it("runs at most the allowed number of KDFs at once, queues a few, and refuses the rest at once", async () => {
    let running = 0;
    let mostAtOnce = 0;
    const { promise: gate, resolve: openGate } = Promise.withResolvers<void>();
    const slowKdf: DeriveKey = async (password, salt, keyBytes) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await gate;
      running -= 1;
      return scryptKey(password, salt, keyBytes, { logN: 10, r: 8, p: 1 });
    };
    const hashing = createPasswordHashing({ maxConcurrent: 2, maxQueued: 1, deriveKey: slowKdf });

    const admitted = [hashing.verify("a", null), hashing.verify("b", null), hashing.verify("c", null)];
    const fourth = hashing.verify("d", null).then(
      () => "admitted",
      (error: unknown) => error,
    );
    await new Promise((resolve) => setImmediate(resolve));

    openGate();
    expect(await fourth).toBeInstanceOf(PasswordHashingBusyError);
    expect(await Promise.all(admitted)).toEqual([false, false, false]);
    expect(mostAtOnce).toBe(2);
  });

  it("tells a caller refused for capacity how long to wait", () => {
    expect(new PasswordHashingBusyError().retryAfterSeconds).toBeGreaterThan(0);
  });
});
