/** Longest wait any server number may ask for: a day. Longer (or absurd) values are clamped to it. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** A server-given delay made sane: a finite number of ms in [0, {@link MAX_RETRY_AFTER_MS}], or undefined. */
export function clampServerDelay(ms: number | undefined): number | undefined {
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/**
 * Parses a `Retry-After` header value: delta seconds (`"5"`) or an HTTP-date.
 * Returns milliseconds to wait from `now`, clamped to [0, {@link MAX_RETRY_AFTER_MS}], or undefined
 * when the value is invalid (`99999999999999999999` is a day, not a crash later).
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return clampServerDelay(Number(text) * 1000);
  if (/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return clampServerDelay(at - now);
}
