import { createServer } from "node:http";

// The floor: the least a Node server can do for a POST, answering a redirect and nothing else.
// Run with plain `node` (type stripping), so no loader sits in the process being measured.
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(303, { Location: "/done", "Content-Length": "0" });
    res.end();
  });
});

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(`floor listening on ${typeof address === "object" && address ? address.port : address}`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => server.close(() => process.exit(0)));
