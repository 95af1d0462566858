/** The tools compared: the psql floor, Keel (through npm and node), node-pg-migrate and dbmate, when they are there. */
import * as fs from "fs";
import * as path from "path";
import { dbmateBin, dbmateGoBinary } from "../../tools/dbmate";
import type { Generated } from "./generate";
import { ROOT, Timed, timeProcess } from "./processes";

export const KEEL_CLI = path.join(ROOT, "dist", "cli", "main.js");
export const NODE_PG_MIGRATE = path.join(ROOT, "node_modules", ".bin", "node-pg-migrate");
/** Installs dbmate (pinned, outside the lock file: see tools/dbmate.ts); carries on without it if npm cannot. */
function ensureDbmate(): string | undefined {
    try {
        return dbmateBin((line) => process.stdout.write(`${line}\n`));
    } catch (err) {
        process.stdout.write(`note: ${(err as Error).message}; dbmate is skipped\n`);
        return undefined;
    }
}
export const PSQL = process.env.PSQL ?? "/usr/bin/psql";

export interface Tool {
    key: string;
    label: string;
    /** The history table it writes, for verification. */
    history: string;
    /** Shown as a target row: Keel must be TARGET_SPEEDUP times faster. */
    competitor?: boolean;
    /** `usage`: run under GNU time for CPU and RSS. */
    run(url: string, g: Generated, usage?: boolean): Timed;
}

export function tools(): Tool[] {
    const list: Tool[] = [
        {
            key: "psql",
            label: "psql floor (1 file)",
            history: "public.keel_schema_history",
            run: (url, g, u) => timeProcess("psql", PSQL, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", g.psqlFile], {}, u),
        },
        {
            key: "keel-npm",
            label: "Keel: npm run schema:apply",
            history: "public.keel_schema_history",
            run: (url, g, u) =>
                timeProcess("keel (npm)", "npm", ["run", "schema:apply", "--", "--dir", g.keel, "--url", url], { DATABASE_URL: url }, u),
        },
        {
            key: "keel-node",
            label: "Keel: node dist/cli/main.js schema",
            history: "public.keel_schema_history",
            run: (url, g, u) =>
                timeProcess(
                    "keel (node)",
                    process.execPath,
                    [KEEL_CLI, "schema", "apply", "--dir", g.keel, "--url", url],
                    { DATABASE_URL: url },
                    u,
                ),
        },
    ];
    if (fs.existsSync(NODE_PG_MIGRATE)) {
        list.push(
            {
                key: "npm-tx-per-file",
                label: "node-pg-migrate (tx per file)",
                history: "public.pgmigrations",
                competitor: true,
                run: (url, g, u) =>
                    timeProcess(
                        "node-pg-migrate",
                        NODE_PG_MIGRATE,
                        ["up", "-m", g.nodePgMigrate, "--no-single-transaction"],
                        { DATABASE_URL: url },
                        u,
                    ),
            },
            {
                key: "npm-default",
                label: "node-pg-migrate (default: 1 tx)",
                history: "public.pgmigrations",
                competitor: true,
                run: (url, g, u) =>
                    timeProcess("node-pg-migrate", NODE_PG_MIGRATE, ["up", "-m", g.nodePgMigrate], { DATABASE_URL: url }, u),
            },
        );
    } else process.stdout.write(`note: ${NODE_PG_MIGRATE} is missing (npm ci?); node-pg-migrate is skipped\n`);
    const dbmate = ensureDbmate();
    if (dbmate) {
        const dbmateArgs = (g: Generated) => ["--migrations-dir", g.dbmate, "--no-dump-schema", "up"];
        const dbmateEnv = (url: string) => ({ DATABASE_URL: `${url}?sslmode=disable` });
        list.push({
            key: "dbmate",
            label: "dbmate (npm bin)",
            history: "public.schema_migrations",
            competitor: true,
            run: (url, g, u) => timeProcess("dbmate", dbmate, dbmateArgs(g), dbmateEnv(url), u),
        });
        const goBinary = dbmateGoBinary();
        if (goBinary) {
            list.push({
                key: "dbmate-go",
                label: "dbmate (Go binary direct)",
                history: "public.schema_migrations",
                competitor: true,
                run: (url, g, u) => timeProcess("dbmate (go)", goBinary, dbmateArgs(g), dbmateEnv(url), u),
            });
        }
    }
    return list;
}
