import type { Config } from "@react-router/dev/config";

// The framework floor's build goes where tools keep caches: ignored by git, lint and typecheck.
export default {
  ssr: true,
  buildDirectory: process.env.BENCH_FRAMEWORK_FLOOR_BUILD ?? "../../node_modules/.cache/bench-framework-floor",
} satisfies Config;
