/** How much room is left: `navigator.storage` is taken as an argument (none in Node or old browsers). */

export interface StorageManagerLike {
  estimate(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export interface StorageEstimate {
  usageBytes: number | null;
  quotaBytes: number | null;
  /** 0..1, null when unknown. */
  usedRatio: number | null;
  /** True when less than 10% or 200 MiB (whichever is smaller) is left: warn before a long recording. */
  low: boolean;
  persisted: boolean | null;
}

const LOW_BYTES = 200 * 1024 * 1024;

/** Call with `navigator.storage` from the UI (undefined when the browser has none). */
export async function estimateStorage(storage: StorageManagerLike | undefined): Promise<StorageEstimate> {
  if (!storage) return { usageBytes: null, quotaBytes: null, usedRatio: null, low: false, persisted: null };
  const { usage, quota } = await storage.estimate();
  const persisted = storage.persisted ? await storage.persisted() : null;
  if (usage === undefined || quota === undefined || quota <= 0) {
    return { usageBytes: usage ?? null, quotaBytes: quota ?? null, usedRatio: null, low: false, persisted };
  }
  const left = quota - usage;
  return {
    usageBytes: usage,
    quotaBytes: quota,
    usedRatio: usage / quota,
    low: left < Math.min(LOW_BYTES, quota * 0.1),
    persisted,
  };
}
