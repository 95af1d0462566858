/**
 * npm run db:reset -- --stack staging [--yes]
 *
 * Resets a Neon stack's branch (staging) to its parent's data (prod), then
 * sanitizes it. The sanitization runs on a temporary branch before the stack's
 * branch is restored from it, so nothing that connects to the stack's branch
 * ever sees unsanitized data. The branch's previous state is kept under
 * `<branch>-before-reset-<time>`, so a reset can be undone from the Neon console.
 * The sanitization file runs as seeds do (components/schema/seeds.ts runSqlFile):
 * parsed first, one transaction, a failing statement named by file and line.
 *
 * dev:reset (scripts/devReset.ts) is the dev database's reset: it drops and
 * recreates a PostgreSQL database and rebuilds it from the migrations and
 * seeds, keeping nothing. db:reset copies real (parent) data and keeps the
 * previous state.
 */
import { describePlan, executeReset, planReset, ResetError, runSqlInTransaction } from "../components/backup/neonReset";
import { UsageError } from "./lib/usageError";
import { scriptNeonClient } from "./lib/neonStack";
import { readStackConfig } from "./lib/stackConfig";

export interface DbResetIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    confirm(question: string): Promise<boolean>;
}

export interface DbResetOptions {
    /** Required: the Neon stack whose branch gets its parent's data. */
    stack?: string;
    yes?: boolean;
}

export async function dbReset(options: DbResetOptions, io: DbResetIo): Promise<number> {
    const stack = options.stack;
    if (!stack) throw new UsageError("--stack <stack> is required");
    const config = readStackConfig(io.root, stack, io.env);
    if (config.database.kind !== "neon") {
        throw new ResetError(
            `Stack '${stack}' uses a ${config.database.kind} database; db:reset works on Neon branches.` +
                (config.stage === "dev"
                    ? ` To start the dev database over from the migrations and seeds: npm run dev:reset -- --stack ${stack}.`
                    : ""),
        );
    }
    // keel:neonApiKey is encrypted in the stack file: the key comes from NEON_API_KEY here.
    const api = scriptNeonClient(stack, io.env, io.out);
    const plan = await planReset(api, stack, config.database, io.root);
    io.out(`db:reset on stack '${stack}' (Neon project ${plan.projectId}) will:\n${describePlan(plan).join("\n")}`);
    if (options.yes !== true && !(await io.confirm("Go ahead? [y/N] "))) {
        io.out("Nothing was changed. (Pass --yes to skip this question in scripts.)");
        return 1;
    }
    await executeReset(api, plan, { runSql: (uri, sql) => runSqlInTransaction(uri, sql, plan.sanitizeSql?.file), log: io.out });
    io.out(
        `'${plan.target.name}' now holds '${plan.parent.name}'s data${plan.sanitizeSql ? `, sanitized by ${plan.sanitizeSql.file}` : ""}.`,
    );
    return 0;
}
