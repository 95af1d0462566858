/**
 * A Neon stack's branch reset to its parent's data, masked on a temporary
 * branch (components/backup/neonReset.ts over components/copy): what `keel db
 * reset` does on Neon, and `keel db copy` between two Neon stacks of one
 * project when the target branches off the source. The rules are checked
 * against the parent's live catalog before any branch is made.
 */
import { directConnectionUri } from "../../components/backup/neonBranches";
import { describePlan, executeReset, planReset, runSqlInTransaction } from "../../components/backup/neonReset";
import type { NeonDatabaseConfig } from "../../components/config";
import { copyDatabase, describeCopyPlan, planDatabaseCopy } from "../../components/copy";
import { MASKING_RULES_FILE } from "../../components/masking";
import { DbCopyIo, maskingKeyFor, readMaskingRules } from "./databaseCopy";
import { scriptNeonClient } from "./neonStack";

export interface NeonBranchResetOptions {
    yes?: boolean;
    /** Mask by db/masking.yaml on the temporary branch (the rules file must exist). */
    masked: boolean;
}

export async function resetNeonBranch(
    stack: string,
    database: NeonDatabaseConfig,
    o: NeonBranchResetOptions,
    io: DbCopyIo,
): Promise<number> {
    const masked = o.masked;
    // keel:neonApiKey is encrypted in the stack file: the key comes from NEON_API_KEY here.
    const api = scriptNeonClient(stack, io.env, io.out);
    const masking = masked
        ? { rules: readMaskingRules(io.root, MASKING_RULES_FILE, "The reset is masked"), key: await maskingKeyFor({ stack }, io) }
        : undefined;
    const plan = await planReset(api, stack, database, io.root, new Date(), masked ? MASKING_RULES_FILE : undefined);
    io.out(`db:reset on stack '${stack}' (Neon project ${plan.projectId}) will:\n${describePlan(plan).join("\n")}`);
    if (masking) {
        // The rules against the parent's live catalog, before any branch is made: a column without a rule stops here.
        const parentUri = await directConnectionUri(api, plan.projectId, plan.parent.id, plan);
        const copyPlan = await planDatabaseCopy({ sourceUrl: parentUri, targetUrl: parentUri, masking });
        io.out(`what '${plan.parent.name}' holds, and how the copy masks it:\n${describeCopyPlan(copyPlan).join("\n")}`);
    }
    if (o.yes !== true && !(await io.confirm("Go ahead? [y/N] "))) {
        io.out("Nothing was changed. (Pass --yes to skip this question in scripts.)");
        return 1;
    }
    const signal = io.interruptible?.();
    await executeReset(api, plan, {
        runSql: (uri, sql) => runSqlInTransaction(uri, sql, plan.sanitizeSql?.file),
        // On the temporary branch: the masked copy replaces its database, and the unmasked one is dropped before the restore.
        mask: async (uri) => {
            await copyDatabase({ sourceUrl: uri, targetUrl: uri, masking, keepPrevious: false, progress: io.out, env: io.env, signal });
        },
        log: io.out,
        signal,
    });
    const how = [masked ? `masked by ${MASKING_RULES_FILE}` : "", plan.sanitizeSql ? `sanitized by ${plan.sanitizeSql.file}` : ""].filter(
        Boolean,
    );
    io.out(`'${plan.target.name}' now holds '${plan.parent.name}'s data${how.length ? `, ${how.join(" and ")}` : ""}.`);
    return 0;
}
