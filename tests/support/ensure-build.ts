import { ensureProductionBuild } from "./production-build.ts";

// `npm run test:e2e`: the browser suite serves ./build; made here only when it is missing or stale.
ensureProductionBuild();
