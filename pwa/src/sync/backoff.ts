/** Exponential backoff with jitter, 1 s to 5 min (docs/sync-protocol.md section 6). */

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Returns [0, 1); injected for tests. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1 for the first retry): min(cap, base * 2^(attempt-1)), then
 * "equal jitter" (between half and all of it) so that devices coming back online together spread out.
 * A server's Retry-After wins when longer.
 */
export function backoffDelay(attempt: number, retryAfterMs: number | null = null, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 1000;
  const cap = options.capMs ?? 5 * 60_000;
  const random = options.random ?? Math.random;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.max(base, ceiling / 2 + random() * (ceiling / 2));
  return retryAfterMs !== null ? Math.max(retryAfterMs, base) : jittered;
}
