import { ensureProductionBuild } from "../support/production-build.ts";

/** `npm run serve` serves ./build: made once when it is missing or older than the code it serves. */
export default function setup() {
  ensureProductionBuild();
}
