import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getCustomer } from "@lemonsqueezy/lemonsqueezy.js";
import { afterAll, expect, test } from "vitest";
import { PROVIDER_IDS, type ProviderId } from "~/billing/providers/provider.ts";
import { startEmulatorProcess, stopProcess } from "../tests/support/emulator-process.ts";
import { DEMO_SUBSCRIPTIONS } from "./demo-subscriptions.ts";
import { lemonSqueezyClient, openCheckout, pay, polarClient, stripeClient } from "./lifecycle-test-kit.ts";
import type { ProviderEmulator } from "./provider-emulator.ts";

// Issue 16: the emulator's state survives a restart when it is given a folder, so every subscriber's portal
// still opens after `npm start` is restarted (the app keeps it under DATA_DIR).

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

type Summary = { provider: ProviderId; id: string; customerId: string; status: string; cancelAtPeriodEnd: boolean; quantity: number; metadata: Record<string, unknown> };
async function summaries(origin: string): Promise<Summary[]> {
  return (await fetch(`${origin}/__emulator/subscriptions`)).json() as Promise<Summary[]>;
}

test("subscriptions bought and changed before a restart are there after it, and their customers' portals open", async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), "syncwt-emulator-"));
  folders.push(dataDir);
  const first = await startEmulatorProcess({ PAYMENT_EMULATOR_DATA_DIR: dataDir });
  const bought: Summary[] = [];
  try {
    const emulator = { origin: first.origin } as ProviderEmulator;
    const undo = lemonSqueezyClient(emulator);
    try {
      for (const provider of PROVIDER_IDS) {
        const userId = `restart-${provider}`;
        expect((await pay(await openCheckout(emulator, provider, userId))).status).toBe(303);
        const mine = (await summaries(first.origin)).find((summary) => summary.provider === provider && summary.metadata.user_id === userId);
        expect(mine).toBeDefined();
        bought.push(mine!);
      }
    } finally {
      undo();
    }
    const demo = DEMO_SUBSCRIPTIONS[0];
    const silent = await fetch(`${first.origin}/__emulator/subscriptions/stripe/${demo.subscriptionId}/actions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "cancel", silent: true }),
    });
    expect(await silent.json()).toEqual({ outcome: "changed" });
  } finally {
    await stopProcess(first.child);
  }

  const second = await startEmulatorProcess({ PAYMENT_EMULATOR_DATA_DIR: dataDir });
  try {
    const after = await summaries(second.origin);
    for (const mine of bought) expect(after).toContainEqual(mine);
    expect(after.find((summary) => summary.id === DEMO_SUBSCRIPTIONS[0].subscriptionId)?.cancelAtPeriodEnd).toBe(true);

    const emulator = { origin: second.origin } as ProviderEmulator;
    const [stripe, polar, lemon] = bought as [Summary, Summary, Summary];
    const session = await stripeClient(emulator).billingPortal.sessions.create({ customer: stripe.customerId });
    expect(session.url).toContain(second.origin);
    const polarSession = await polarClient(emulator).customerSessions.create({ customer_id: polar.customerId });
    expect(polarSession.customer_portal_url).toContain(second.origin);
    const undo = lemonSqueezyClient(emulator);
    try {
      const { data, error } = await getCustomer(lemon.customerId);
      expect(error).toBeNull();
      expect(data?.data.attributes.urls.customer_portal).toContain(second.origin);
    } finally {
      undo();
    }
  } finally {
    await stopProcess(second.child);
  }
});

test("without a folder the emulator keeps nothing: a restart starts from the demo again", async () => {
  const first = await startEmulatorProcess();
  await fetch(`${first.origin}/__emulator/subscriptions/stripe/${DEMO_SUBSCRIPTIONS[0].subscriptionId}/actions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action: "cancel", silent: true }),
  });
  await stopProcess(first.child);
  const second = await startEmulatorProcess();
  try {
    expect((await summaries(second.origin)).find((summary) => summary.id === DEMO_SUBSCRIPTIONS[0].subscriptionId)?.cancelAtPeriodEnd).toBe(false);
  } finally {
    await stopProcess(second.child);
  }
});
