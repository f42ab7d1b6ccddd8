import { createAuth } from "~/auth/auth.server.ts";
import { createPasswordHashing } from "~/auth/password-hashing.server.ts";
import { createBillingEndpoint } from "~/billing/billing-endpoint.server.ts";
import { findPlan } from "~/billing/plans.ts";
import { createEntitlements } from "~/entitlements/entitlements.server.ts";
import { createProjects } from "~/entitlements/projects.server.ts";
import { createBillingCheckout } from "~/billing/checkout.server.ts";
import { createCheckoutConfirmation } from "~/billing/checkout-confirmation.server.ts";
import { createInvoices } from "~/billing/invoices.server.ts";
import { createPortalEndpoint } from "~/billing/portal-endpoint.server.ts";
import { createPortalFlash } from "~/billing/portal-flash.server.ts";
import { createBillingPortal } from "~/billing/portal.server.ts";
import { createBillingActivity } from "~/billing/activity.server.ts";
import { createBillingProvider, createLegacyProviders, perProvider } from "~/billing/providers/registry.server.ts";
import { createLedger } from "~/billing/ledger/ledger.server.ts";
import { createReconciler, RECONCILE_JOB_KIND } from "~/billing/sync/reconciler.server.ts";
import { createWebhookService } from "~/billing/webhooks.server.ts";
import type { Config } from "~/config/env.server.ts";
import { type Database, IN_MEMORY_DATA_DIR, openDatabase, type RawRead } from "~/db/database.server.ts";
import { seedDemoAccounts } from "~/demo/seed.server.ts";
import { logEvent } from "~/observability/log.server.ts";
import { createRateLimits } from "~/rate-limits/rate-limits.server.ts";
import { type EmulatedBilling, startEmulatedBilling } from "~/billing/emulated-billing.server.ts";
import { createPasswordReset } from "~/auth/password-reset.server.ts";
import { createAccountSettings } from "~/auth/account-settings.server.ts";
import { createJobRunner, type JobHandler, type Schedule } from "~/jobs/jobs.server.ts";
import { createSeatSync, onMembershipChanged as enqueueSeatSync, SEATS_JOB_KIND } from "~/billing/seats/seats.server.ts";
import { createMailer, MAIL_JOB_KIND } from "~/mail/mail.server.ts";
import { createBillingMail, TRIAL_ENDING_JOB_KIND } from "~/mail/billing-mail.server.ts";
import { createOrganizationService, type OnMembershipChanged } from "~/orgs/organizations.server.ts";

/**
 * Builds the app's long-lived parts from a parsed configuration: database
 * (migrated), demo data, emulator, provider adapter, auth, billing portal.
 * The server does this once per process (services.server.ts); integration
 * tests do it with their own configuration and a throwaway database.
 */
export async function startServices(
  config: Config,
  options: {
    database?: Database;
    /** Tests drive the outbox with `jobs.runOnce()` instead of its poll. */
    startJobs?: boolean;
    /** Called in the transaction of every membership change (accept, remove, leave); by default the seat job (ADR 029). Tests may replace it. */
    onMembershipChanged?: OnMembershipChanged;
  } = {},
) {
  const database = options.database ?? (await openDatabase(config.database));
  // One bounded KDF for the process: logins, signups and the demo seed.
  const passwordHashing = createPasswordHashing({ params: config.passwordHashing.params });
  if (config.seedDemoData) {
    const { created } = await seedDemoAccounts(database.prisma, undefined, passwordHashing.hash);
    if (created > 0) logEvent("info", "demo.seeded", { users: created });
  }

  // The emulator is dev/demo tooling; in production it starts only with PAYMENT_EMULATOR=1.
  let emulated: EmulatedBilling | null = null;
  if (config.billing.emulated) {
    // The emulator's state lives under the data folder when this process owns its data (not a test's database).
    const stateDir = options.database || config.billing.emulatorDataDir === IN_MEMORY_DATA_DIR ? undefined : config.billing.emulatorDataDir;
    emulated = await startEmulatedBilling(config, { stateDir });
    // Started here, or a shared one named by PAYMENT_EMULATOR_URL that this instance only points at.
    const event = emulated.emulator ? "billing.emulator.started" : "billing.emulator.shared";
    logEvent("info", event, { origin: emulated.origin, provider: config.billing.provider });
  }
  const emulator = emulated?.emulator ?? null;

  const provider = createBillingProvider({ ...config.billing, emulatorOrigin: emulated?.origin });
  const legacyProviders = createLegacyProviders({ ...config.billing, emulatorOrigin: emulated?.origin });
  // Issue 10: every portal open, checkout start and applied webhook change, kept for the configured days.
  // Through a closure rather than the method itself, so a test can replace database.read to make the database fail.
  const read: RawRead = (sql, params) => database.read(sql, params);
  const activity = createBillingActivity({ prisma: database.prisma, read, retentionDays: config.billing.activityRetentionDays });
  const stopPruning = activity.startPruning();
  const secure = config.appOrigin.startsWith("https:");
  // Counted in the database, so every instance on it shares the limits (SPEC "Rate limits").
  const rateLimits = createRateLimits({ driver: database.driver, limits: config.rateLimits });
  const auth = createAuth({
    prisma: database.prisma,
    read,
    sessionSecrets: config.sessionSecrets,
    secureCookie: secure,
    rateLimits,
    passwordHashing,
  });
  // SPEC "Email": SMTP_URL, else (development, emulated mode) the emulator's local mailbox.
  const mailer = createMailer({ from: config.mail.from, smtpUrl: () => smtpUrlFor(config, emulated) });
  const billingMail = createBillingMail({ prisma: database.prisma, appOrigin: config.appOrigin, onMailQueued: () => jobs.wake() });
  // Seats follow members (ADR 029): the organisations code enqueues the job (onMembershipChanged), the runner runs it.
  const seats = createSeatSync({
    prisma: database.prisma,
    providers: Object.fromEntries([...legacyProviders, provider].map((each) => [each.id, each])),
  });
  // SPEC "Keeping billing state true": the providers' own answers repair what lost webhooks left wrong.
  const reconciler = createReconciler({
    prisma: database.prisma,
    providers: Object.fromEntries([provider, ...legacyProviders].map((each) => [each.id, each])),
    plans: perProvider((id) => config.billing[id].plans),
    callsPerMinute: config.billing.reconcileCallsPerMinute,
    seats,
    runLimitMs: config.billing.reconcileIntervalMinutes * 60_000,
  });
  // A run in progress stops at its next customer when the app stops (the rest waits for the next interval).
  const stopping = new AbortController();
  const reconcileMinutes = config.billing.reconcileIntervalMinutes;
  const reconcile: { handlers: Record<string, JobHandler>; schedules: Schedule[] } =
    reconcileMinutes > 0
      ? {
          handlers: { [RECONCILE_JOB_KIND]: async () => void (await reconciler.reconcileOnce(stopping.signal)) },
          // One run per interval across instances, one at a time, the first at the end of the first interval;
          // a run may take the whole interval.
          schedules: [{ kind: RECONCILE_JOB_KIND, period: { minutes: reconcileMinutes }, leaseSeconds: reconcileMinutes * 60, atPeriodEnd: true }],
        }
      : { handlers: {}, schedules: [] };
  const jobs = createJobRunner({
    prisma: database.prisma,
    handlers: {
      [SEATS_JOB_KIND]: seats.handleJob,
      [MAIL_JOB_KIND]: mailer.handleJob,
      [TRIAL_ENDING_JOB_KIND]: async () => void (await billingMail.sendTrialEndingMail()),
      ...reconcile.handlers,
    },
    // Trials ending in 3 days: once a (UTC) day, on one instance (pg-boss's singleton slot for the day).
    schedules: [{ kind: TRIAL_ENDING_JOB_KIND, period: "day" }, ...reconcile.schedules],
  });
  const passwordReset = createPasswordReset({
    prisma: database.prisma,
    auth,
    appOrigin: config.appOrigin,
    limits: { perEmail: rateLimits.passwordResetsPerEmail, perAddress: rateLimits.passwordResetsPerAddress },
    onMailQueued: () => jobs.wake(),
  });
  const accountSettings = createAccountSettings({ prisma: database.prisma, auth, appOrigin: config.appOrigin, onMailQueued: () => jobs.wake() });
  // The kinds' queues exist before any request can write a job; polling (and pg-boss's supervision) only when asked.
  if (options.startJobs !== false) await jobs.start();
  else await jobs.ready();
  /** The billing doors' caller: the user, the current organisation (the billing owner) and its customers. */
  const identify = async (request: Request) => {
    const user = await auth.getUser(request);
    return user && { id: user.id, organizationId: user.organization?.id ?? null, role: user.organization?.role ?? null, customers: user.customers };
  };
  const portal = createBillingPortal({
    prisma: database.prisma,
    provider,
    legacyProviders,
    activity,
    providerCalls: rateLimits.providerCalls,
    returnUrlPolicy: { appOrigin: config.appOrigin, allowedOrigins: config.billing.returnOrigins },
  });
  const flash = createPortalFlash({ secrets: config.sessionSecrets, secure });
  // The organisation pages' one-time message, and the invitation link shown once to the inviter to copy.
  const orgFlash = createPortalFlash({ secrets: config.sessionSecrets, secure, name: "__orgs_flash" });
  const invitationLinkFlash = createPortalFlash({ secrets: config.sessionSecrets, secure, name: "__invitation_link" });
  const organizations = createOrganizationService({
    prisma: database.prisma,
    appOrigin: config.appOrigin,
    // Seats follow members (ADR 029): the seat job is written in the membership change's own transaction.
    onMembershipChanged: options.onMembershipChanged ?? ((tx, organizationId) => enqueueSeatSync(tx, organizationId)),
    onMailQueued: () => jobs.wake(),
  });
  const checkout = createBillingCheckout({
    prisma: database.prisma,
    provider,
    appOrigin: config.appOrigin,
    providerCalls: rateLimits.providerCalls,
    activity,
  });
  const handleCheckoutRequest = createBillingEndpoint({
    action: "checkout",
    run: (request) => checkout.start(request),
    flash,
    appOrigin: config.appOrigin,
    identify,
    // The plan chosen while signed out survives logging in or signing up (only a plan the catalogue has).
    loginReturnPath: (input) => pricingPathFor(input),
    // Already subscribed: the account page is where the subscription is managed.
    pageFor: (failure) => (failure.kind === "already-subscribed" ? "/account" : "/pricing"),
  });
  // Every provider with a secret has a live webhook endpoint, not only the active one (SPEC: Subscriptions and webhooks).
  const configuredSecrets = perProvider((id) => config.billing[id].webhookSecret);
  const webhooks = createWebhookService({
    prisma: database.prisma,
    secrets: { ...emulated?.webhookSecrets, ...withoutUnset(configuredSecrets) },
    plans: perProvider((id) => config.billing[id].plans),
    providers: [provider, ...legacyProviders],
    onSubscriptionApplied: (tx, change) => billingMail.onSubscriptionApplied(tx, change),
  });
  // The ledger keeps each verified payload for the retention period (billing:replay), then clears it.
  const ledger = createLedger({
    prisma: database.prisma,
    plans: perProvider((id) => config.billing[id].plans),
    retentionDays: config.billing.eventRetentionDays,
  });
  const stopLedgerPruning = ledger.startPruning();
  const invoices = createInvoices({ prisma: database.prisma, provider });
  const projects = createProjects({ prisma: database.prisma });
  const entitlements = createEntitlements({ prisma: database.prisma, rules: { pastDueGraceDays: config.billing.pastDueGraceDays } });
  const checkoutConfirmation = createCheckoutConfirmation({ prisma: database.prisma, provider, webhooks, providerCalls: rateLimits.providerCalls });
  const handlePortalRequest = createPortalEndpoint({
    portal,
    flash,
    appOrigin: config.appOrigin,
    identify,
  });

  async function stop() {
    stopping.abort();
    stopLedgerPruning();
    stopPruning();
    // Mail in hand is sent (or released) before the database closes; the rest waits in the outbox.
    await jobs.stop();
    mailer.close();
    rateLimits.stop();
    await emulated?.close();
    // Written behind (ADR 017): what is still queued goes in before the database closes.
    await activity.flush();
    await database.close();
  }

  return {
    config,
    database,
    emulator,
    auth,
    passwordReset,
    accountSettings,
    jobs,
    portal,
    activity,
    flash,
    organizations,
    orgFlash,
    invitationLinkFlash,
    handlePortalRequest,
    handleCheckoutRequest,
    handleWebhook: webhooks.handle,
    reconciler,
    seats,
    ledger,
    checkoutConfirmation,
    invoices,
    entitlements,
    projects,
    stop,
  };
}

export type Services = Awaited<ReturnType<typeof startServices>>;

let localMailboxUrl: Promise<string | null> | undefined;

/** Where mail goes: SMTP_URL; else the local mailbox of the emulator this process started or shares; else nowhere yet. */
function smtpUrlFor(config: Config, emulated: EmulatedBilling | null): Promise<string | null> {
  if (config.mail.smtpUrl) return Promise.resolve(config.mail.smtpUrl);
  if (!config.mail.localMailbox || !emulated) return Promise.resolve(null);
  if (emulated.emulator) return Promise.resolve(emulated.emulator.mailbox.smtpUrl);
  // A shared emulator (PAYMENT_EMULATOR_URL) says where its mailbox listens; asked again after a failure.
  localMailboxUrl ??= fetch(new URL("/__emulator/mail/smtp", emulated.origin), { signal: AbortSignal.timeout(5000) })
    .then(async (response) => (response.ok ? ((await response.json()) as { url?: string }).url ?? null : null))
    .catch(() => null)
    .then((url) => {
      if (!url) localMailboxUrl = undefined;
      return url;
    });
  return localMailboxUrl;
}

function withoutUnset<T>(values: Record<string, T | undefined>): Record<string, T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Record<string, T>;
}

/** `/pricing`, with `?plan=` when the body names a plan of the catalogue (never anything else from the body). */
export function pricingPathFor(input: unknown): string {
  const plan = typeof input === "object" && input !== null && "plan" in input ? findPlan(input.plan) : undefined;
  return plan ? `/pricing?plan=${plan.id}` : "/pricing";
}
