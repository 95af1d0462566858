/**
 * npm run dev:seed [-- --stack dev] [--url <postgres-url>] [--dir <path>]
 *
 * Runs the seeds (db/seeds/*.sql, name order, each file in one transaction;
 * components/schema/seeds.ts) on the dev database: --url, else the dev stack's
 * own (its output databaseUrl, through the engine). Refused, before anything
 * is read, on a stack whose stage is not dev. Every seed is parsed before the
 * first runs; a failing one names its file and line and is rolled back.
 */
import * as path from "path";
import { DEFAULT_SEEDS_DIR, loadSeeds, runSeeds } from "../components/schema/seeds";
import { describeTarget } from "../components/postgres/connection";
import { CommandSpec, ParsedCommandLine, runCommand } from "./lib/cli";
import { devDatabaseUrl, requireDevStage } from "./lib/stackDatabase";
import { readStackConfig } from "./lib/stackConfig";

export const SPEC: CommandSpec = {
    usage: "npm run dev:seed -- [--stack <stack>] [--url <postgres-url>] [--dir <path>]",
    summary:
        `Runs the seeds (${DEFAULT_SEEDS_DIR}/*.sql, in name order, each file in one transaction) on the dev database: --url, ` +
        "else the stack's own (its output databaseUrl). Dev stacks only. Seeds are not recorded: each run runs them all again.",
    options: [
        { name: "stack", short: "s", value: "<stack>", help: "the stack, whose stage must be dev (default: dev)" },
        {
            name: "url",
            value: "<postgres-url>",
            help: "the database (default: the stack's own, its output databaseUrl; DATABASE_URL only for an external stack that reads it)",
        },
        { name: "dir", value: "<path>", help: `the seeds directory (default: ${DEFAULT_SEEDS_DIR})` },
    ],
};

export interface DevIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
}

export async function devSeed(args: ParsedCommandLine, io: DevIo): Promise<number> {
    const stack = (args.options.stack as string | undefined) ?? "dev";
    requireDevStage(io.root, stack, "dev:seed");
    const config = readStackConfig(io.root, stack, io.env);
    const dir = (args.options.dir as string | undefined) ?? DEFAULT_SEEDS_DIR;
    // Parsed before connecting: a broken seed is reported without touching the database.
    const seeds = await loadSeeds(path.resolve(io.root, dir), dir);
    if (!seeds.length) {
        io.out(`No seeds in ${dir}/ (add *.sql files there; they run in name order).`);
        return 0;
    }
    const url = await devDatabaseUrl({ root: io.root, stack, env: io.env, url: args.options.url as string | undefined, say: io.out });
    io.out(`seeding ${describeTarget(url)} (stack '${stack}') with ${seeds.length} seed${seeds.length === 1 ? "" : "s"} from ${dir}/`);
    const { ran } = await runSeeds(url, seeds, config.migrations, io.out);
    io.out(`${ran.length} seed${ran.length === 1 ? "" : "s"} applied to ${describeTarget(url)}`);
    return 0;
}

if (require.main === module) {
    runCommand(SPEC, (args) => devSeed(args, { root: process.cwd(), env: process.env, out: (l) => void process.stdout.write(`${l}\n`) }));
}
