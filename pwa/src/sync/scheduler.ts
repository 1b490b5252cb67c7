/**
 * When to sync: at start, when the device comes online, on a timer (a steady interval after success,
 * backoff after failure, honouring Retry-After) and on demand ("Envoyer maintenant"). Never two runs at
 * once. Emits a state the UI subscribes to. Timers, clock and the online signal are injected.
 */
import type { StatusCounts } from "../db/records.js";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import type { RunOutcome } from "./engine.js";

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface OnlineSignal {
  isOnline(): boolean;
  /** Calls back on every change; returns an unsubscribe function. */
  subscribe(listener: (online: boolean) => void): () => void;
}

export type SyncPhase = "idle" | "running" | "waiting-retry" | "offline" | "signed-out" | "locked" | "stopped";

export interface SyncState {
  phase: SyncPhase;
  /** Records per local status (null before the first count). */
  counts: StatusCounts | null;
  lastSuccessAt: number | null;
  lastAttemptAt: number | null;
  /** In plain French, for the status bar; null after a success. */
  lastError: { code: string; message: string } | null;
  nextRunAt: number | null;
  /** Consecutive failed runs (drives the backoff). */
  failures: number;
  lastOutcome: RunOutcome | null;
}

export interface SchedulerOptions {
  engine: { run(): Promise<RunOutcome> };
  /** Counts for the UI (RecordStore.counts); refreshed after each run and by `refreshCounts`. */
  counts?: () => Promise<StatusCounts>;
  clock?: Clock;
  online?: OnlineSignal;
  /** Between successful runs (pull for review decisions, new specs). Default 15 min. */
  intervalMs?: number;
  backoff?: BackoffOptions;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

export function describeOutcome(outcome: RunOutcome, retryInMs: number | null): { code: string; message: string } | null {
  switch (outcome.kind) {
    case "ok":
      return outcome.push.deferred > 0
        ? { code: "sync.deferred", message: "Certaines fiches n'ont pas reçu de réponse du serveur : nouvel essai automatique." }
        : null;
    case "locked":
      return { code: "vault.locked", message: "Application verrouillée : saisissez votre code pour envoyer les fiches." };
    case "signed-out":
      return {
        code: outcome.error?.code ?? "auth.signed_out",
        message:
          "Cet appareil doit être reconnecté : connectez-vous avec votre mot de passe. Les fiches restent sur l'appareil et partiront ensuite.",
      };
    case "retry": {
      const seconds = retryInMs === null ? null : Math.ceil(retryInMs / 1000);
      const when = seconds === null ? "" : ` Nouvel essai dans ${seconds} s.`;
      return { code: outcome.error.code, message: `${outcome.error.message}${when}` };
    }
    case "error":
      return {
        code: "sync.unexpected",
        message: "La synchronisation a échoué de façon inattendue. Les fiches restent sur l'appareil ; nouvel essai plus tard.",
      };
  }
}

export class SyncScheduler {
  readonly #engine: SchedulerOptions["engine"];
  readonly #counts: (() => Promise<StatusCounts>) | null;
  readonly #clock: Clock;
  readonly #online: OnlineSignal | null;
  readonly #interval: number;
  readonly #backoff: BackoffOptions;
  readonly #listeners = new Set<(state: SyncState) => void>();
  #state: SyncState = {
    phase: "stopped",
    counts: null,
    lastSuccessAt: null,
    lastAttemptAt: null,
    lastError: null,
    nextRunAt: null,
    failures: 0,
    lastOutcome: null,
  };
  #timer: unknown = null;
  #running: Promise<SyncState> | null = null;
  #followUp: Promise<SyncState> | null = null;
  #unsubscribeOnline: (() => void) | null = null;
  #started = false;

  constructor(options: SchedulerOptions) {
    this.#engine = options.engine;
    this.#counts = options.counts ?? null;
    this.#clock = options.clock ?? systemClock;
    this.#online = options.online ?? null;
    this.#interval = options.intervalMs ?? 15 * 60_000;
    this.#backoff = options.backoff ?? {};
  }

  get state(): SyncState {
    return this.#state;
  }

  /** The listener gets the current state at once, then every change. Returns an unsubscribe function. */
  subscribe(listener: (state: SyncState) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /** Starts: a run now (when online), then on the timer and whenever the device comes online. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribeOnline = this.#online?.subscribe((online) => {
      if (online) void this.runNow();
      else if (this.#running === null) this.#set({ phase: "offline" });
    }) ?? null;
    if (this.#online && !this.#online.isOnline()) this.#set({ phase: "offline" });
    else void this.runNow();
  }

  stop(): void {
    this.#started = false;
    this.#clearTimer();
    this.#unsubscribeOnline?.();
    this.#unsubscribeOnline = null;
    this.#set({ phase: "stopped", nextRunAt: null });
  }

  /**
   * "Envoyer maintenant" (also after a new login or unlock). While a run is going on, one more run is
   * queued after it (not two): the promise resolves with the state after that run.
   */
  runNow(): Promise<SyncState> {
    if (this.#running) {
      this.#followUp ??= this.#running.then(() => {
        this.#followUp = null;
        return this.#execute();
      });
      return this.#followUp;
    }
    return this.#execute();
  }

  async refreshCounts(): Promise<void> {
    if (this.#counts) this.#set({ counts: await this.#counts() });
  }

  #execute(): Promise<SyncState> {
    this.#clearTimer();
    this.#set({ phase: "running", nextRunAt: null, lastAttemptAt: this.#clock.now() });
    const run = (async () => {
      let outcome: RunOutcome;
      try {
        outcome = await this.#engine.run();
      } catch (error) {
        // The engine maps every failure; this is a bug, kept visible and retried later.
        outcome = { kind: "error", error: error instanceof Error ? error : new Error(String(error)) };
      }
      await this.#afterRun(outcome);
      return this.#state;
    })();
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = null;
    });
    return run;
  }

  async #afterRun(outcome: RunOutcome): Promise<void> {
    const now = this.#clock.now();
    const counts = this.#counts ? await this.#counts() : this.#state.counts;
    const success = outcome.kind === "ok" && outcome.push.deferred === 0;
    const failures = success || outcome.kind === "signed-out" || outcome.kind === "locked" ? 0 : this.#state.failures + 1;
    let delay: number | null = null;
    if (success) delay = this.#interval;
    else if (outcome.kind !== "signed-out" && outcome.kind !== "locked") {
      delay = backoffDelay(failures, outcome.kind === "retry" ? outcome.retryAfterMs : null, this.#backoff);
    }
    let phase: SyncPhase = success ? "idle" : "waiting-retry";
    if (outcome.kind === "signed-out") phase = "signed-out";
    if (outcome.kind === "locked") phase = "locked";
    if (phase === "waiting-retry" && this.#online && !this.#online.isOnline()) phase = "offline";
    if (!this.#started) {
      delay = null;
      phase = "stopped";
    }
    this.#set({
      phase,
      counts,
      failures,
      lastOutcome: outcome,
      lastSuccessAt: outcome.kind === "ok" ? now : this.#state.lastSuccessAt,
      lastError: describeOutcome(outcome, delay),
      nextRunAt: delay === null ? null : now + delay,
    });
    if (delay !== null) this.#schedule(delay);
  }

  #schedule(delay: number): void {
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      // Offline: wait for the online signal rather than failing again.
      if (this.#online && !this.#online.isOnline()) {
        this.#set({ phase: "offline", nextRunAt: null });
        return;
      }
      void this.runNow();
    }, delay);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #set(change: Partial<SyncState>): void {
    this.#state = { ...this.#state, ...change };
    for (const listener of this.#listeners) listener(this.#state);
  }
}
