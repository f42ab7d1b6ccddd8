import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

export default defineConfig({
  resolve: { tsconfigPaths: true },
  plugins: [reactRouter()],
  build: { target: "node24" },
  ssr: { target: "node" },
  // The dev server answers where the app says it lives (APP_URL defaults to http://localhost:$PORT),
  // so return URLs and the cross-site check agree with the browser's address bar.
  server: { port: Number(process.env.PORT ?? 3000), strictPort: true },
});
