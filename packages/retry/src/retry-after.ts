/**
 * Parses a `Retry-After` header value: delta seconds (`"5"`) or an HTTP-date.
 * Returns milliseconds to wait from `now`, never negative, or undefined when the value is invalid.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
