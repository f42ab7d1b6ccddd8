// `npm start` runs this before building: a second start on a data folder another process owns
// stops here, before `react-router build` replaces the running app's ./build (issue 8, item 7).
import { EmbeddedDatabaseLockedError, lockDataDir } from "../app/db/embedded-lock.server.ts";

const usesServer = Boolean(process.env.DATABASE_URL?.trim());
const dataDir = process.env.DATA_DIR?.trim() || "./data";

if (!usesServer) {
  try {
    // Taken and given back at once: the app takes it for good when it opens the database.
    lockDataDir(dataDir).release();
  } catch (error) {
    if (!(error instanceof EmbeddedDatabaseLockedError)) throw error;
    console.error(`Cannot start: ${error.message}`);
    process.exit(1);
  }
}
