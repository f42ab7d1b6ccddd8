import { ensureTemplate } from "./embedded-template.ts";
import { ensureProductionBuild } from "./production-build.ts";

// `npm run test:e2e`: the browser suite serves ./build, made here only when it is missing or stale, and its ten
// apps copy one migrated data folder, made here once rather than by each of them at the same moment.
ensureProductionBuild();
await ensureTemplate();
