/**
 * npm run db:reset -- --stack staging [--yes]
 *
 * Gives a stack a fresh copy of the data it gets copies of, masked by
 * db/masking.yaml:
 * - on Neon, its branch is reset to its parent's data (prod): masked (when the
 *   rules file exists) and sanitized (keel:database.neon.sanitizeSql) on a
 *   temporary branch before the stack's branch is restored from it, so nothing
 *   that connects to the stack's branch ever sees unmasked data;
 * - any other kind gets `keel db copy --from <keel:copyFrom> --to <stack>`
 *   (scripts/lib/databaseCopy.ts).
 * On Neon The branch's previous state is kept under
 * `<branch>-before-reset-<time>`, so a reset can be undone from the Neon console.
 * The sanitization file runs as seeds do (components/schema/seeds.ts runSqlFile):
 * parsed first, one transaction, a failing statement named by file and line.
 *
 * dev:reset (scripts/devReset.ts) is the dev database's reset: it drops and
 * recreates a PostgreSQL database and rebuilds it from the migrations and
 * seeds, keeping nothing. db:reset copies real (parent) data and keeps the
 * previous state.
 */
import * as fs from "fs";
import * as path from "path";
import { ResetError } from "../components/backup/neonReset";
import { MASKING_RULES_FILE } from "../components/masking";
import { COPY_FROM_CONFIG, dbCopy, DbCopyIo } from "./lib/databaseCopy";
import { resetNeonBranch } from "./lib/neonBranchReset";
import { UsageError } from "./lib/usageError";
import { readStackConfig } from "./lib/stackConfig";

/** The same as db copy's: a reset of a stack that is not on Neon is a copy. */
export type DbResetIo = DbCopyIo;

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
        const from = config.copyFrom;
        if (!from) {
            throw new ResetError(
                `Stack '${stack}' uses a ${config.database.kind} database, and its stack file does not say where its data comes from: ` +
                    `set ${COPY_FROM_CONFIG} (npm run pulumi -- config set ${COPY_FROM_CONFIG} prod --stack ${stack}), or copy once with keel db copy --from <stack|url> --to ${stack}.` +
                    (config.stage === "dev"
                        ? ` To start the dev database over from the migrations and seeds: npm run dev:reset -- --stack ${stack}.`
                        : ""),
            );
        }
        return dbCopy({ from, to: stack, yes: options.yes }, io);
    }
    const masked = fs.existsSync(path.join(io.root, MASKING_RULES_FILE));
    return resetNeonBranch(stack, config.database, { yes: options.yes, masked }, io);
}
