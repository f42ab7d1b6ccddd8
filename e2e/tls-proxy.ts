import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A TLS-terminating reverse proxy for the browser tests, as a load balancer
 * in front of the app would be: it answers https with a throwaway
 * self-signed certificate and forwards plain http to the app with
 * X-Forwarded-Proto/Host/For. Usage: tsx e2e/tls-proxy.ts <listenPort> <targetPort>
 */
const [listenPort, targetPort] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort) {
  console.error("Usage: tsx e2e/tls-proxy.ts <listenPort> <targetPort>");
  process.exit(2);
}

// A new key and certificate for each run, never committed.
const dir = mkdtempSync(path.join(tmpdir(), "tls-proxy-"));
execFileSync("openssl", [
  "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
  "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
], { stdio: "ignore" });
const key = readFileSync(path.join(dir, "key.pem"));
const cert = readFileSync(path.join(dir, "cert.pem"));
rmSync(dir, { recursive: true, force: true });

const agent = new http.Agent({ keepAlive: true });

const proxy = https.createServer({ key, cert }, (req, res) => {
  const forwardedFor = [req.headers["x-forwarded-for"], req.socket.remoteAddress].filter(Boolean).join(", ");
  const upstream = http.request(
    {
      host: "127.0.0.1",
      port: targetPort,
      method: req.method,
      path: req.url,
      agent,
      headers: {
        ...req.headers,
        "x-forwarded-proto": "https",
        "x-forwarded-host": req.headers.host ?? `localhost:${listenPort}`,
        "x-forwarded-for": forwardedFor,
      },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
    res.end("Bad gateway");
  });
  req.pipe(upstream);
});

proxy.listen(listenPort, () => {
  console.log(`TLS proxy https://localhost:${listenPort} -> http://127.0.0.1:${targetPort}`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => proxy.close(() => process.exit(0)));
}
