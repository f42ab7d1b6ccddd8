import { test } from "vitest";
import { createTestDatabase } from "./database.ts";
test("t", async () => {
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now(); const c0 = process.cpuUsage();
    const db = await createTestDatabase();
    const c1 = process.cpuUsage(c0);
    process.stderr.write(`db ${i}: ${Math.round(performance.now() - t0)} ms wall, ${Math.round((c1.user + c1.system) / 1000)} ms cpu ${process.execArgv.join(" ")}\n`);
    await db.close();
  }
}, 120000);
