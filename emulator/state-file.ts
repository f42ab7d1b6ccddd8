import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { addCustomer, findCustomer, type EmulatedCustomer } from "./customers.ts";
import { findPlan } from "./plans.ts";
import type { EmulatedSubscription, SubscriptionStore } from "./subscriptions.ts";

type StoredSubscription = Omit<EmulatedSubscription, "plan" | "customer" | "quantity"> & {
  plan: string;
  customer: EmulatedCustomer;
  quantity?: number;
};

const VERSION = 1;
/** Changes within this window are written together. */
const WRITE_DELAY_MS = 50;

/**
 * Keeps an emulator's subscriptions (and the customers checkouts created) in a JSON file, so its state survives
 * a restart of the app that runs it (`npm start` keeps it under the data folder, next to the database it has
 * to agree with). Loaded once at start over the demo defaults; written shortly after every change, and at close.
 * The file holds no secrets: emulated ids, names, emails and plans.
 */
export function persistSubscriptions(store: SubscriptionStore, file: string): { flush(): void } {
  load(store, file);
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    save(store, file);
  };
  store.onChange(() => {
    timer ??= setTimeout(flush, WRITE_DELAY_MS);
    timer.unref();
  });
  return { flush };
}

function load(store: SubscriptionStore, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return; // No state yet: the demo defaults stand.
  }
  const parsed = JSON.parse(text) as { version?: number; subscriptions?: StoredSubscription[] };
  if (parsed.version !== VERSION || !Array.isArray(parsed.subscriptions)) return;
  for (const stored of parsed.subscriptions) {
    const plan = findPlan(stored.plan);
    if (!plan) continue;
    let customer = findCustomer(stored.customer.provider, stored.customer.id);
    if (!customer) {
      addCustomer(stored.customer);
      customer = stored.customer;
    }
    // Files written before quantities were kept hold none: those subscriptions had one seat.
    store.add({ ...stored, quantity: stored.quantity ?? 1, plan, customer }, { silent: true });
  }
}

function save(store: SubscriptionStore, file: string): void {
  const subscriptions: StoredSubscription[] = store.list().map((subscription) => ({
    ...subscription,
    plan: subscription.plan.id,
    customer: { ...subscription.customer },
  }));
  mkdirSync(path.dirname(file), { recursive: true });
  // Written aside, then renamed: a crash mid-write leaves the previous state, never half a file.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify({ version: VERSION, subscriptions }), { mode: 0o600 });
  renameSync(partial, file);
}
