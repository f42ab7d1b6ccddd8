import type { Config } from "@react-router/dev/config";

export default {
  ssr: true,
  // The server tests build into a folder of their own, so they never replace a running app's ./build.
  buildDirectory: process.env.REACT_ROUTER_BUILD_DIR || "build",
} satisfies Config;
