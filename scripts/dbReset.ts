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
import { describePlan, executeReset, planReset, ResetError, runSqlInTransaction } from "../components/backup/neonReset";
import { directConnectionUri } from "../components/backup/neonBranches";
import { copyDatabase, describeCopyPlan, planDatabaseCopy } from "../components/copy";
import { MASKING_RULES_FILE } from "../components/masking";
import { COPY_FROM_CONFIG, dbCopy, DbCopyIo, maskingKeyFor, readMaskingRules } from "./lib/databaseCopy";
import { UsageError } from "./lib/usageError";
import { scriptNeonClient } from "./lib/neonStack";
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
                    `set ${COPY_FROM_CONFIG} (pulumi config set ${COPY_FROM_CONFIG} prod --stack ${stack}), or copy once with keel db copy --from <stack|url> --to ${stack}.` +
                    (config.stage === "dev"
                        ? ` To start the dev database over from the migrations and seeds: npm run dev:reset -- --stack ${stack}.`
                        : ""),
            );
        }
        return dbCopy({ from, to: stack, yes: options.yes }, io);
    }
    // keel:neonApiKey is encrypted in the stack file: the key comes from NEON_API_KEY here.
    const api = scriptNeonClient(stack, io.env, io.out);
    // Masked whenever the rules exist: the parent's data is prod's (the plan says when nothing masks it).
    const masked = fs.existsSync(path.join(io.root, MASKING_RULES_FILE));
    const masking = masked
        ? { rules: readMaskingRules(io.root, MASKING_RULES_FILE, "The reset is masked"), key: await maskingKeyFor({ stack }, io) }
        : undefined;
    const plan = await planReset(api, stack, config.database, io.root, new Date(), masked ? MASKING_RULES_FILE : undefined);
    io.out(`db:reset on stack '${stack}' (Neon project ${plan.projectId}) will:\n${describePlan(plan).join("\n")}`);
    if (masking) {
        // The rules against the parent's live catalog, before any branch is made: a column without a rule stops here.
        const parentUri = await directConnectionUri(api, plan.projectId, plan.parent.id, plan);
        const copyPlan = await planDatabaseCopy({ sourceUrl: parentUri, targetUrl: parentUri, masking });
        io.out(`what '${plan.parent.name}' holds, and how the copy masks it:\n${describeCopyPlan(copyPlan).join("\n")}`);
    }
    if (options.yes !== true && !(await io.confirm("Go ahead? [y/N] "))) {
        io.out("Nothing was changed. (Pass --yes to skip this question in scripts.)");
        return 1;
    }
    await executeReset(api, plan, {
        runSql: (uri, sql) => runSqlInTransaction(uri, sql, plan.sanitizeSql?.file),
        // On the temporary branch: the masked copy replaces its database, and the unmasked one is dropped before the restore.
        mask: async (uri) => {
            await copyDatabase({ sourceUrl: uri, targetUrl: uri, masking, keepPrevious: false, progress: io.out, env: io.env });
        },
        log: io.out,
    });
    const how = [masked ? `masked by ${MASKING_RULES_FILE}` : "", plan.sanitizeSql ? `sanitized by ${plan.sanitizeSql.file}` : ""].filter(
        Boolean,
    );
    io.out(`'${plan.target.name}' now holds '${plan.parent.name}'s data${how.length ? `, ${how.join(" and ")}` : ""}.`);
    return 0;
}
