/** bench:migrations' options (parsed by keel bench migrations, cli/bench/migrations.ts) and the targets its verdicts are against. */

export const TARGET_FLOOR_RATIO = 1.5;
export const TARGET_SPEEDUP = 3;
export const TARGET_PENDING_MS = 150;
export const TARGET_RSS_MB = 200;

export interface Options {
    runs: number;
    count: number;
    bigCount: number;
    big: boolean;
    /** Keep the cluster's data in the usual temp dir even when /dev/shm is there. */
    disk: boolean;
}
