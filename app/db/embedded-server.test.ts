import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { promisify } from "node:util";
import path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { emptyEmbeddedDataDir } from "../../tests/database.ts";
import { EMBEDDED_POSTGRESQL_CONF, IN_MEMORY_DATA_DIR } from "./database.server.ts";
import { type EmbeddedServer, startEmbeddedServer } from "./embedded-server.server.ts";

let server: EmbeddedServer;
let setup: Client;
const clients: Client[] = [];

async function connect(): Promise<Client> {
  const client = new Client(server.connection);
  client.on("error", () => {});
  await client.connect();
  clients.push(client);
  return client;
}

/** Settles within the time or says it did not. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

beforeAll(async () => {
  server = await startEmbeddedServer({ dataDir: IN_MEMORY_DATA_DIR, postgresqlconf: EMBEDDED_POSTGRESQL_CONF, initialData: await emptyEmbeddedDataDir() });
  setup = await connect();
  await setup.query("CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL)");
});

// Tests count the notes they see: each starts with none (another test's committed notes would be counted).
beforeEach(async () => {
  await setup.query("DELETE FROM note");
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.end().catch(() => {})));
  await server?.stop();
});

describe("the embedded database's own thread, reached over its socket", () => {
  test("its socket is in a folder no other user of the machine can enter", () => {
    const folder = String(server.connection.host);
    expect(statSync(folder).mode & 0o077).toBe(0);
    expect(statSync(path.join(folder, ".s.PGSQL.5432")).isSocket()).toBe(true);
  });

  test("a second connection waits while the first is inside a transaction, and never sees its uncommitted rows", async () => {
    const [first, second] = [await connect(), await connect()];
    await first.query("BEGIN");
    await first.query("INSERT INTO note VALUES ($1, $2)", [1, "uncommitted"]);
    const count = second.query<{ count: string }>("SELECT count(*) FROM note");
    expect(await settledWithin(count, 200)).toBe(false);
    await first.query("ROLLBACK");
    expect((await count).rows[0]?.count).toBe("0");
  });

  test("a connection that goes away inside a transaction has it rolled back, and the others go on", async () => {
    const [first, second] = [await connect(), await connect()];
    await first.query("BEGIN");
    await first.query("INSERT INTO note VALUES ($1, $2)", [2, "abandoned"]);
    const count = second.query<{ count: string }>("SELECT count(*) FROM note WHERE id = 2");
    (first as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await count).rows[0]?.count).toBe("0");
  });

  test("many connections' extended queries at once each get their own answer", async () => {
    const connections = await Promise.all(Array.from({ length: 4 }, () => connect()));
    await Promise.all(connections.map((client, index) => client.query("INSERT INTO note VALUES ($1, $2)", [100 + index, `note ${index}`])));
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, n) => connections[n % 4]!.query<{ body: string }>("SELECT body FROM note WHERE id = $1", [100 + (n % 4)])),
    );
    expect(answers.map((answer) => answer.rows[0]?.body)).toEqual(Array.from({ length: 200 }, (_, n) => `note ${n % 4}`));
  });
});

describe("the socket's folder", () => {
  test("is removed by a stop, and by the end of a process that never stopped its database", async () => {
    const stopped = await startEmbeddedServer({ dataDir: IN_MEMORY_DATA_DIR, postgresqlconf: EMBEDDED_POSTGRESQL_CONF, initialData: await emptyEmbeddedDataDir() });
    await stopped.stop();
    expect(existsSync(String(stopped.connection.host))).toBe(false);

    const script = [
      'import { startEmbeddedServer } from "./app/db/embedded-server.server.ts";',
      'import { emptyEmbeddedDataDir } from "./tests/database.ts";',
      "const server = await startEmbeddedServer({ dataDir: \"memory://\", postgresqlconf: [], initialData: await emptyEmbeddedDataDir() });",
      "console.log(server.connection.host);",
      "process.exit(0);",
    ].join("\n");
    // WebAssembly on Liftoff only, as the app runs the embedded database (ADR 019): with V8's optimising tier, its
    // compiler threads could still be at work when process.exit ends the process, which V8 sometimes answered with
    // a fatal "Check failed: jit_page.has_value()" instead of an exit.
    const { stdout } = await promisify(execFile)(process.execPath, ["--liftoff-only", "--import", "tsx", "--input-type=module", "-e", script], {
      timeout: 60_000,
    });
    const folder = stdout.trim().split("\n").at(-1)!;
    expect(folder).toMatch(/billing-db-/);
    expect(existsSync(folder)).toBe(false);
  }, 90_000);
});
