/**
 * Knobs for a longer hunt: `FC_NUM_RUNS=10000 npx vitest run tests/hostile`
 * sends ten thousand bodies per door; `FC_SEED=<seed printed by a failure>`
 * replays a failing run.
 */
export const NUM_RUNS = positiveInteger(process.env.FC_NUM_RUNS) ?? 1_000;
export const SEED = integer(process.env.FC_SEED);

/** A property's own time bound: generous, it is there to stop a run that hangs. */
export const PROPERTY_TIMEOUT_MS = Math.max(180_000, NUM_RUNS * 150);

function integer(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const parsed = Number(value);
  return Number.isInteger(parsed) ? parsed : undefined;
}

function positiveInteger(value: string | undefined): number | undefined {
  const parsed = integer(value);
  return parsed !== undefined && parsed > 0 ? parsed : undefined;
}
