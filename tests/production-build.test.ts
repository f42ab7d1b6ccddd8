import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";

// SPEC/issue 7: production code never imports the emulator; it is loaded only in emulated mode, at run time.
// The server build is what `npm start` and a deployment run, so it must hold none of emulator/'s code.

const run = promisify(execFile);

/** Names of the functions and classes defined in the non-test TypeScript files under `directory`. */
async function definitionsIn(directory: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of await filesUnder(directory)) {
    if (!/\.tsx?$/.test(file) || /\.test\.tsx?$/.test(file)) continue;
    const source = await readFile(file, "utf8");
    for (const match of source.matchAll(/^\s*(?:export )?(?:async )?(?:function\*? |class )(\w+)/gm)) names.add(match[1]!);
  }
  return names;
}

/** What emulator/ alone defines: such a definition can only be in the build if emulator code is. */
async function emulatorDefinitions(): Promise<string[]> {
  const app = await definitionsIn("app");
  return [...(await definitionsIn("emulator"))].filter((name) => !app.has(name));
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

test("the production server build contains no emulator code", { timeout: 120_000 }, async () => {
  await run("npx", ["react-router", "build"], { env: { ...process.env, NODE_ENV: "production" } });

  const definitions = await emulatorDefinitions();
  expect(definitions).toContain("startProviderEmulator"); // the search looks for the right thing
  const found: string[] = [];
  for (const file of await filesUnder("build/server")) {
    if (!file.endsWith(".js")) continue;
    const code = await readFile(file, "utf8");
    for (const name of definitions) {
      // A bundler may suffix a name ($1) when two modules define the same one.
      if (new RegExp(`(?:function\\*?|class)\\s+${name}(?:\\$\\d+)?\\s*[({]`).test(code)) found.push(`${name} in ${file}`);
    }
  }
  expect(found).toEqual([]);
});
