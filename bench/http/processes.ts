import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer, connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The processes a benchmark starts: each in its own process group, so stopping one stops
 * `npm`, the shell it runs and the node server under them together; all of them are stopped
 * when the harness ends, however it ends (done, thrown, Ctrl-C).
 */
export type Started = {
  name: string;
  child: ChildProcess;
  /** The last lines it printed, for the error message when it fails to start. */
  output: () => string;
  stop: () => Promise<void>;
};

const running = new Set<Started>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // Last resort: whatever is still running when the harness exits is killed outright.
  process.once("exit", () => {
    for (const started of running) killGroup(started.child, "SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process the benchmark started`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((started) => started.stop()));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Started {
  installExitHooks();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  // Always drained: a server that logs every request must never block on a full pipe.
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started: Started = {
    name,
    child,
    output: () => lines.join("\n"),
    stop: async () => {
      running.delete(started);
      killGroup(child, "SIGTERM");
      const gone = await Promise.race([exited.then(() => true), sleep(5000, false)]);
      if (!gone) killGroup(child, "SIGKILL");
      await Promise.race([exited, sleep(2000)]);
      // The group may outlive its leader (npm exits before the server below it).
      killGroup(child, "SIGKILL");
    },
  };
  running.add(started);
  child.once("exit", () => {
    if (!running.has(started)) return;
    // Its children may still hold the port: make sure the group goes with its leader.
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // Nothing left.
    }
  });
  return started;
}

/** A port nobody listens on right now (the OS's choice), for a server started next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Waits until `port` accepts connections; fails with the process's own output if it exits or takes too long. */
export async function waitForPort(started: Started, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`${started.name} exited before listening on ${port}:\n${started.output()}`);
    }
    if (await canConnect(port)) return;
    await sleep(100);
  }
  throw new Error(`${started.name} did not listen on ${port} within ${timeoutMs} ms:\n${started.output()}`);
}

/** Waits for a line matching `pattern` on the process's output; returns the first capture group. */
export async function waitForOutput(started: Started, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(started.output());
    if (match) return match[1] ?? match[0];
    if (started.child.exitCode !== null || started.child.signalCode !== null) break;
    await sleep(100);
  }
  throw new Error(`${started.name} did not print ${pattern}:\n${started.output()}`);
}

// ---- /proc: which process is the server, and what it costs ----

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT"; state 0A is LISTEN; the inode is the 10th field.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === "0A" && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/**
 * The pid of the process (under `root`, e.g. npm) that holds the listening socket on
 * `port`: the node server itself, not npm, the shell or a loader's parent process.
 */
export function listeningPid(root: number, port: number): number {
  const inodes = listeningInodes(port);
  for (const pid of descendants(root).toReversed()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return pid;
      } catch {
        // The fd closed meanwhile.
      }
    }
  }
  throw new Error(`no process under pid ${root} listens on port ${port}`);
}

function readStat(pid: number): { ppid: number; cpuTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: fields count from after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state(0) ppid(1) … utime(11) stime(12).
  return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ): 100 on Linux for every common architecture. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) the process has used, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return (stat.cpuTicks * 1000) / TICKS_PER_SECOND;
}

/** Resident memory now (VmRSS) and the peak since the process started (VmHWM), in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}
