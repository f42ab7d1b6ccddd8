import { performance } from "node:perf_hooks";
import { createAuth } from "~/auth/auth.server.ts";
import { hashPassword } from "~/auth/password.server.ts";
import { IN_MEMORY_DATA_DIR, openDatabase } from "~/db/database.server.ts";

// `npm run bench`: does a login's answer time tell whether the email has an account?
// 50 logins with unknown emails against 50 with a known email and a wrong password, interleaved
// so that noise on this shared machine falls on both alike. Goal: the ratio of the means stays
// within 0.8-1.25 (before the fix an unknown email answered in ~7 ms against ~200 ms).
// No rate limits here: they would refuse the known email after 5 failures.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const mean = (samples: number[]) => samples.reduce((a, b) => a + b, 0) / samples.length;
const APP = "http://bench.test";

const database = await openDatabase({ kind: "embedded", dataDir: IN_MEMORY_DATA_DIR });
try {
  const { prisma } = database;
  await prisma.user.create({
    data: { email: "known@bench.test", password: { create: { hash: await hashPassword("the-right-password") } } },
  });
  const auth = createAuth({ prisma, read: database.read, sessionSecrets: ["bench-session-secret-0123456789abcdef"], secureCookie: false });

  async function timeLogin(email: string): Promise<number> {
    const body = new URLSearchParams({ email, password: "a-wrong-password" });
    const start = performance.now();
    const result = await auth.login(new Request(`${APP}/login`, { method: "POST", body }));
    const elapsed = performance.now() - start;
    if (result.ok) throw new Error("a wrong password signed in");
    return elapsed;
  }

  // Warm-up: the first scrypt runs and queries pay for lazy initialisation.
  for (let i = 0; i < 3; i++) {
    await timeLogin(`warm-${i}@bench.test`);
    await timeLogin("known@bench.test");
  }

  const unknown: number[] = [];
  const known: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    unknown.push(await timeLogin(`nobody-${i}@bench.test`));
    known.push(await timeLogin("known@bench.test"));
  }
  const ratio = mean(unknown) / mean(known);
  console.log(`login timing, ${ROUNDS} each (wrong password)`);
  console.log(`  unknown email          mean ${mean(unknown).toFixed(1)} ms`);
  console.log(`  known email            mean ${mean(known).toFixed(1)} ms`);
  console.log(`  ratio unknown/known    ${ratio.toFixed(2)} (goal 0.80-1.25)`);
  if (ratio < 0.8 || ratio > 1.25) process.exitCode = 1;
} finally {
  await database.close();
}
