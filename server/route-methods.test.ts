import { describe, expect, test } from "vitest";
import { createMethodTable, type ManifestRoute } from "./route-methods.ts";

const page = { default: () => null, loader: () => null };
const routes: Record<string, ManifestRoute> = {
  root: { id: "root", path: "", module: { default: () => null, loader: () => null } },
  index: { id: "index", parentId: "root", index: true, module: page },
  login: { id: "login", parentId: "root", path: "login", module: { ...page, action: () => null } },
  logout: { id: "logout", parentId: "root", path: "logout", module: { loader: () => null, action: () => null } },
  portal: { id: "portal", parentId: "root", path: "billing/portal", module: { action: () => null } },
  health: { id: "health", parentId: "root", path: "healthz", module: { loader: () => null } },
};
const table = createMethodTable(routes);

describe("the methods each URL accepts come from its route module", () => {
  test.each([
    ["/", ["GET", "HEAD"]],
    ["/login", ["GET", "HEAD", "POST"]],
    ["/logout", ["GET", "HEAD", "POST"]], // its loader sends visitors home
    ["/billing/portal", ["POST"]], // an action and nothing else: POST-only
    ["/healthz", ["GET", "HEAD"]],
    ["/login.data", ["GET", "HEAD", "POST"]], // React Router's data request for /login
    ["/_.data", ["GET", "HEAD"]],
  ])("%s → %j", (path, methods) => {
    expect(table.allowed(path)?.methods).toEqual(methods);
  });

  test("a path no route matches is left to React Router's 404", () => {
    expect(table.allowed("/nowhere")).toBeNull();
  });
});

test("answers stay the same when remembered, and after a client has asked for thousands of invented paths", () => {
  expect(table.allowed("/billing/portal")).toEqual({ methods: ["POST"], routeId: "portal" });
  for (let i = 0; i < 3_000; i++) expect(table.allowed(`/invented-${i}`)).toBeNull();
  expect(table.allowed("/billing/portal")).toEqual({ methods: ["POST"], routeId: "portal" });
  expect(table.allowed("/login")?.methods).toEqual(["GET", "HEAD", "POST"]);
});
