import { ensureTemplate } from "../support/embedded-template.ts";
import { ensureProductionBuild } from "../support/production-build.ts";

/** `npm run serve` serves ./build (made when missing or older than the code it serves); each app copies one migrated data folder. */
export default async function setup() {
  ensureProductionBuild();
  await ensureTemplate();
}
