// The comparison server for bench/server.bench.ts: the same build behind @react-router/express,
// as react-router-serve ran it (static files, then React Router), without compression or morgan.
// Needs `npm install --no-save express @react-router/express` (not dependencies of this project).
import path from "node:path";
import { pathToFileURL } from "node:url";

process.env.NODE_ENV ??= "production";
const buildPath = path.resolve(process.argv[2] ?? "build/server/index.js");
const express = (await import("express" as string)).default;
const { createRequestHandler } = await import("@react-router/express" as string);
const build = await import(pathToFileURL(buildPath).href);
const app = express();
app.disable("x-powered-by");
app.use("/assets", express.static(path.resolve(path.dirname(buildPath), "../client/assets"), { immutable: true, maxAge: "1y" }));
// One access line per request, as the own server writes.
app.use((req: { method: string; path: string }, res: { on: (e: string, f: () => void) => void; statusCode: number }, next: () => void) => {
  const started = performance.now();
  res.on("finish", () => process.stdout.write(`${JSON.stringify({ event: "http.request", method: req.method, path: req.path, status: res.statusCode, durationMs: performance.now() - started })}\n`));
  next();
});
app.all("/{*splat}", createRequestHandler({ build, mode: "production" }));
app.listen(Number(process.env.PORT), () => console.log(JSON.stringify({ event: "server.listening" })));
