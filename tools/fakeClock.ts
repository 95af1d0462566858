/**
 * The time of the local fake vendor APIs (fakeNeon, fakeFly, fakeRender): an
 * explicit clock that never follows the wall clock. It moves only when a test
 * moves it (advance, set), or by a fixed `tickPerRequestMs` for every request
 * a fake handles (default 0). So what a fake answers depends on the requests
 * it got and on what the test did, never on how fast the machine runs.
 *
 * The fakes read it for timestamps (created_at, events, lease expiries) and
 * for what is about time in the real APIs: lease expiry, Neon's expires_at,
 * rate-limit windows. Progress (a deploy, an operation, a machine starting)
 * is counted in polls by each fake instead. One clock may be shared by
 * several fakes (pass it in their options).
 */
export interface FakeClockOptions {
    /** Where it starts (ms since epoch); default: the wall clock at construction, to whole seconds, so timestamps look current. */
    startMs?: number;
    /** How far every handled request moves it (ms); default 0. */
    tickPerRequestMs?: number;
}

export class FakeClock {
    tickPerRequestMs: number;
    private ms: number;

    constructor(options: FakeClockOptions = {}) {
        // Read once for a plausible origin; after this the clock moves only as described above.
        this.ms = options.startMs ?? Math.floor(Date.now() / 1000) * 1000;
        this.tickPerRequestMs = options.tickPerRequestMs ?? 0;
    }

    /** The fake's time (ms since epoch). */
    now(): number {
        return this.ms;
    }

    /** Moves the clock forward by `ms` (never back); returns the new time. */
    advance(ms: number): number {
        if (!(ms >= 0)) throw new Error(`FakeClock.advance: ${ms} is not a duration >= 0`);
        this.ms += ms;
        return this.ms;
    }

    /** Moves the clock to `ms` (never back); returns the new time. */
    set(ms: number): number {
        if (ms < this.ms)
            throw new Error(`FakeClock.set: ${new Date(ms).toISOString()} is before the clock (${new Date(this.ms).toISOString()})`);
        this.ms = ms;
        return this.ms;
    }

    /** Called by the fakes once per handled request. */
    tick(): void {
        this.ms += this.tickPerRequestMs;
    }
}
