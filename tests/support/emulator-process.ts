import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/**
 * What `npm run emulator` runs, without npm in between so a signal reaches the
 * emulator itself: the provider emulator as its own process, which several app
 * instances share through PAYMENT_EMULATOR_URL.
 */
export async function startEmulatorProcess(env: Record<string, string> = {}): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "emulator/main.ts"], {
    env: { ...process.env, PAYMENT_EMULATOR_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    const origin = /listening on (http:\/\/\S+)/.exec(line)?.[1];
    if (origin) return { child, origin };
  }
  throw new Error("the emulator exited without printing its origin");
}

/** SIGTERM, then the exit code (at once when it has already exited). */
export async function stopProcess(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const [code] = await exited;
  return code as number | null;
}
