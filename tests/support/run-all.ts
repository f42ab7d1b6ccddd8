import { spawn } from "node:child_process";

/**
 * `npm test`: every test. Types, lint and the production build first (side by side); then, side by side,
 * Vitest's unit and hostile projects on the embedded database, Playwright, and, when TEST_DATABASE_URL names a
 * PostgreSQL server, the database tests again there (SPEC "Setup": database tests run on the embedded
 * database by default and also on a server when it is set). Side by side because none of them fills two cores
 * alone (measured: unit about 84 % of them, the browser suite 75 %, the PostgreSQL pass waits on its server):
 * together they keep both busy (docs/decisions/026, its third-session amendment). A step's
 * output is printed whole when it ends, so two steps' lines never interleave; a table of the steps' times ends
 * the run. The exit status is 1 when any step failed.
 */

type Step = { name: string; script: string; env?: Record<string, string | undefined> };
type Outcome = { step: Step; ok: boolean; seconds: number };

const postgresUrl = process.env.TEST_DATABASE_URL;
// The embedded suites must not see the server: createTestDatabase would put them on it.
const embedded = { TEST_DATABASE_URL: undefined };

const stages: Step[][] = [
  [
    { name: "types", script: "typecheck" },
    { name: "lint", script: "lint" },
    { name: "production build", script: "build" },
  ],
  [
    { name: "unit + hostile (embedded database)", script: "test:unit", env: embedded },
    { name: "browser end-to-end", script: "test:e2e" },
    ...(postgresUrl
      ? [{ name: "database tests on PostgreSQL", script: "test:postgres", env: { TEST_DATABASE_URL: postgresUrl } }]
      : []),
  ],
];

function run(step: Step): Promise<Outcome> {
  const started = performance.now();
  const env = { ...process.env, ...step.env };
  for (const [name, value] of Object.entries(step.env ?? {})) if (value === undefined) delete env[name];
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", step.script], { env, stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("close", (code) => {
      const seconds = Math.round((performance.now() - started) / 1000);
      process.stdout.write(`\n──── ${step.name} (npm run ${step.script}): ${code === 0 ? "passed" : `failed (exit ${code})`} in ${seconds} s\n`);
      process.stdout.write(Buffer.concat(output));
      resolve({ step, ok: code === 0, seconds });
    });
  });
}

const outcomes: Outcome[] = [];
for (const stage of stages) {
  process.stdout.write(`\nStarting: ${stage.map((step) => step.name).join(", ")}\n`);
  const done = await Promise.all(stage.map(run));
  outcomes.push(...done);
  if (done.some((outcome) => !outcome.ok)) break;
}

process.stdout.write("\nnpm test step                                   seconds  result\n");
for (const { step, ok, seconds } of outcomes) process.stdout.write(`${step.name.padEnd(48)}${String(seconds).padStart(7)}  ${ok ? "passed" : "FAILED"}\n`);
process.exit(outcomes.every((outcome) => outcome.ok) && outcomes.length === stages.flat().length ? 0 : 1);
