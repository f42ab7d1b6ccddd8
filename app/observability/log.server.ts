type Level = "info" | "warn" | "error";
type Field = string | number | boolean | null | undefined;

/**
 * One JSON line per event. Callers pass only fields they chose (ids, kinds,
 * fixed phrases): never a provider's message, a stack, a key or a URL with a
 * token, so nothing secret can reach the log through here.
 */
export function logEvent(level: Level, event: string, fields: Record<string, Field> = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields });
  if (level === "info") console.log(line);
  else console.error(line);
}
