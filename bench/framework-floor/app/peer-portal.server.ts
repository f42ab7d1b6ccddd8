import { CustomerPortal } from "@polar-sh/remix";
import type { ActionFunctionArgs } from "react-router";
import { DEMO_ACCOUNTS } from "../../../app/demo/demo-accounts.ts";
import { routePolarSandboxTo } from "./polar-sandbox-routing.server.ts";

// The harness starts the peer with the emulator's origin; without it the peer would call the real sandbox.
const emulatorOrigin = process.env.BENCH_POLAR_API_URL;
if (emulatorOrigin) routePolarSandboxTo(emulatorOrigin);

// No session, no database: the customer is fixed, as in the comparison.
const polarCustomerId = DEMO_ACCOUNTS[1].customer.providerCustomerId;

const portal = CustomerPortal({
  accessToken: "polar_oat_benchmarkpeer",
  server: "sandbox",
  getCustomerId: async () => polarCustomerId,
  returnUrl: new URL("/account", process.env.APP_URL ?? "http://localhost:3000").href,
});

export const peerPortalAction = (args: ActionFunctionArgs) =>
  emulatorOrigin ? portal(args) : new Response("BENCH_POLAR_API_URL is not set", { status: 503 });
