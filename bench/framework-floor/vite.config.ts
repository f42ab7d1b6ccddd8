import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

// The smallest React Router app: the framework's own cost per request, and the peer mounted as an action.
export default defineConfig({
  plugins: [reactRouter()],
  cacheDir: "../../node_modules/.vite-bench-framework-floor",
  build: { target: "node24" },
  ssr: { target: "node" },
  logLevel: "warn",
});
