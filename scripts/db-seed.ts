import { parseConfig } from "~/config/env.server.ts";
import { openDatabase } from "~/db/database.server.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";

// `npm run db:seed`: the demo users of the SPEC, on DATABASE_URL or the embedded database.
// (The app also seeds them at every start outside production.)
try {
  const config = parseConfig(process.env);
  const database = await openDatabase(config.database);
  try {
    const { created } = await seedDemoAccounts(database.prisma);
    console.log(created > 0 ? `Seeded ${created} demo user(s).` : "Demo users already present.");
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(`Cannot seed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
