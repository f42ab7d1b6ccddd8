import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./app-process.ts";

const BUILT_SERVER = join(PROJECT_ROOT, "build/server/index.js");
/** What the build is made of: a change here makes ./build stale. */
const SOURCES = ["app", "server", "react-router.config.ts", "vite.config.ts", "package.json"];

/** `npm run serve` serves ./build: build it once when it is missing or older than the code it serves. */
export default function setup() {
  if (existsSync(BUILT_SERVER) && statSync(BUILT_SERVER).mtimeMs >= newestSource()) return;
  execFileSync("npx", ["react-router", "build"], { cwd: PROJECT_ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

function newestSource(): number {
  let newest = 0;
  for (const source of SOURCES) {
    const path = join(PROJECT_ROOT, source);
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory()
      ? readdirSync(path, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile() && !entry.name.endsWith(".test.ts") && !entry.parentPath.includes("generated"))
          .map((entry) => join(entry.parentPath, entry.name))
      : [path];
    for (const file of files) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}
