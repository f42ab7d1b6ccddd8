/**
 * The embedded database's own thread (ADR 015): PGlite, serving the PostgreSQL wire protocol on
 * a Unix socket in a folder only this process's user can enter, so the app reaches it through
 * the same driver as a PostgreSQL server (node-postgres and Prisma's adapter-pg) and its event
 * loop never waits on PGlite's WebAssembly.
 *
 * Started by `database.server.ts` as a worker thread and loaded natively by Node (types
 * stripped), so it imports only Node, PGlite and the type-free wire module.
 */
import { createServer, type Socket } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { ClientStream, type ClientUnit } from "./embedded-wire.ts";

export interface EmbeddedWorkerData {
  dataDir: string;
  postgresqlconf: string[];
  initialData?: Blob;
  socketPath: string;
}

export type EmbeddedWorkerMessage = { type: "ready" } | { type: "failed"; message: string } | { type: "closed" };

const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

interface Job {
  connection: Connection;
  bytes: Uint8Array;
  endsAtSync: boolean;
}

interface Connection {
  socket: Socket;
  stream: ClientStream;
}

/**
 * Runs units one at a time, in arrival order, except that a connection inside a transaction
 * (or between an extended query's Flush and its Sync) keeps the database until it is out:
 * every connection shares PGlite's one backend, so another's statement would land inside it.
 */
function createScheduler(db: PGlite) {
  const queue: Job[] = [];
  let holder: Connection | null = null;
  let running = false;

  async function drain() {
    if (running) return;
    running = true;
    try {
      while (true) {
        const index = holder ? queue.findIndex((job) => job.connection === holder) : 0;
        if (index === -1 || queue.length === 0) break;
        const [job] = queue.splice(index, 1);
        const { socket } = job!.connection;
        await db.runExclusive(() =>
          db.execProtocolRawStream(job!.bytes, {
            onRawData: (data) => {
              if (socket.writable) socket.write(Buffer.from(data));
            },
          }),
        );
        holder = db.isInTransaction() || !job!.endsAtSync ? job!.connection : null;
      }
    } finally {
      running = false;
    }
  }

  return {
    submit(job: Job) {
      queue.push(job);
      void drain().catch((error: unknown) => fail(error));
    },
    /** A connection went away: its waiting units are dropped, and what it held is undone. */
    async release(connection: Connection) {
      for (let index = queue.length - 1; index >= 0; index--) if (queue[index]!.connection === connection) queue.splice(index, 1);
      if (holder !== connection) return;
      await db.runExclusive(() => db.execProtocolRaw(SYNC));
      if (db.isInTransaction()) await db.exec("ROLLBACK");
      holder = null;
      void drain().catch((error: unknown) => fail(error));
    },
  };
}

function fail(error: unknown): never {
  post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

function post(message: EmbeddedWorkerMessage) {
  // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker thread's port, not a window
  parentPort!.postMessage(message);
}

async function main() {
  const { dataDir, postgresqlconf, initialData, socketPath } = workerData as EmbeddedWorkerData;
  const db = await PGlite.create(dataDir, { postgresqlconf, ...(initialData ? { loadDataDir: initialData } : {}) });
  const scheduler = createScheduler(db);
  const connections = new Set<Connection>();
  let closing = false;

  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const connection: Connection = { socket, stream: new ClientStream() };
    connections.add(connection);
    socket.on("data", (chunk) => {
      let units: ClientUnit[];
      try {
        units = connection.stream.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const unit of units) {
        if (unit.kind === "encryption-request") socket.write("N");
        else if (unit.kind === "terminate") socket.end();
        else if (unit.kind === "run") scheduler.submit({ connection, bytes: unit.bytes, endsAtSync: unit.endsAtSync });
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      connections.delete(connection);
      if (!closing) void scheduler.release(connection).catch((error: unknown) => fail(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });

  parentPort!.on("message", async (message: { type: "close" }) => {
    if (message.type !== "close") return;
    closing = true;
    server.close();
    for (const connection of connections) connection.socket.destroy();
    await db.close();
    post({ type: "closed" });
    parentPort!.close();
  });
  post({ type: "ready" });
}

main().catch((error: unknown) => {
  post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  parentPort!.close();
});
