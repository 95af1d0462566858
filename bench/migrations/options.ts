/** bench:migrations' command line and the targets its verdicts are against. */
import type { CommandSpec, ParsedCommandLine } from "../../scripts/lib/cli";
import { positiveOption } from "../cli";

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

export const SPEC: CommandSpec = {
    usage: "npm run bench:migrations -- [--runs <n>] [--count <n>] [--big-count <n>] [--no-10k] [--disk]",
    summary:
        "Applies generated migrations with psql (the floor), Keel, node-pg-migrate and dbmate, each into a fresh database; " +
        "medians, Keel's apply by phase, the nothing-pending check and peak RSS, with verdicts against the targets.",
    options: [
        { name: "runs", value: "<n>", help: "runs per tool (default 3)" },
        { name: "count", value: "<n>", help: "migrations to generate (default 1000)" },
        { name: "big-count", value: "<n>", help: "migrations for the peak-RSS run (default 10000)" },
        { name: "no-10k", help: "skip the peak-RSS run" },
        { name: "disk", help: "keep the cluster's data in the usual temp dir even when /dev/shm is there" },
    ],
};

export function optionsFrom(args: ParsedCommandLine): Options {
    return {
        runs: positiveOption(args, "runs", 3),
        count: positiveOption(args, "count", 1000),
        bigCount: positiveOption(args, "big-count", 10000),
        big: args.options["no-10k"] !== true,
        disk: args.options.disk === true,
    };
}
