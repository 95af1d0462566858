/**
 * keel dev seed [--stack dev] [--url <postgres-url>] [--dir <path>]   (npm run dev:seed)
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
import { devDatabaseUrl, requireDevStage } from "./lib/stackDatabase";
import { readStackConfig } from "./lib/stackConfig";

export interface DevIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
}

export interface DevSeedOptions {
    /** The stack, whose stage must be dev. */
    stack: string;
    url?: string;
    /** The seeds directory (default: db/seeds). */
    dir?: string;
}

export async function devSeed(options: DevSeedOptions, io: DevIo): Promise<number> {
    const stack = options.stack;
    requireDevStage(io.root, stack, "dev:seed");
    const config = readStackConfig(io.root, stack, io.env);
    const dir = options.dir ?? DEFAULT_SEEDS_DIR;
    // Parsed before connecting: a broken seed is reported without touching the database.
    const seeds = await loadSeeds(path.resolve(io.root, dir), dir);
    if (!seeds.length) {
        io.out(`No seeds in ${dir}/ (add *.sql files there; they run in name order).`);
        return 0;
    }
    const url = await devDatabaseUrl({ root: io.root, stack, env: io.env, url: options.url, say: io.out });
    io.out(`seeding ${describeTarget(url)} (stack '${stack}') with ${seeds.length} seed${seeds.length === 1 ? "" : "s"} from ${dir}/`);
    const { ran } = await runSeeds(url, seeds, config.migrations, io.out);
    io.out(`${ran.length} seed${ran.length === 1 ? "" : "s"} applied to ${describeTarget(url)}`);
    return 0;
}
