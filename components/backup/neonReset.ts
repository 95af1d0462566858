/**
 * A Neon stack's branch that branches off another (staging) reset to its
 * parent's data (prod), then sanitized: the façade `npm run db:reset` calls.
 * Planned first (reads only), then carried out, as a restore is (neon.ts).
 *
 * The sanitization runs on a temporary branch before the stack's branch is
 * restored from it, so nothing that connects to the stack's branch ever sees
 * unsanitized data. The branch's previous state is kept under
 * `<branch>-before-reset-<time>`, so a reset can be undone from the Neon
 * console. The sanitization file runs as seeds do (components/schema/seeds.ts
 * runSqlFile): parsed first, one transaction, a failing statement named by
 * file and line.
 */
import * as fs from "fs";
import * as path from "path";
import type { NeonDatabaseConfig } from "../config";
import { defaultBranch, findBranch } from "../database/neon/common";
import { findNeonProject, findStackBranch } from "../database/neon/stackBranch";
import { KeelError } from "../errors";
import { runSqlFile } from "../schema/seeds";
import type { Api, WaitOptions } from "../vendors/neon";
import { backupStamp } from "./neon";
import { createBranchWithCompute, deleteBranch, directConnectionUri, restoreInPlace } from "./neonBranches";

/** A reset that cannot be planned as asked (no parent, a default or protected branch, a missing file). */
export class ResetError extends KeelError {
    constructor(message: string) {
        super(message, "ResetError");
    }
}

export interface ResetPlan {
    projectId: string;
    target: { id: string; name: string };
    parent: { id: string; name: string };
    /** Temporary branch for the masking and the sanitization; absent with neither. */
    scratchName?: string;
    /** The masking rules file the copy is masked by (on the temporary branch), when there is one. */
    maskedBy?: string;
    preservedName: string;
    sanitizeSql?: { file: string; sql: string };
    roleName: string;
    databaseName: string;
}

export interface ResetHooks {
    /** Runs the sanitization SQL against a connection URI (tests point this at a real PostgreSQL). */
    runSql(uri: string, sql: string): Promise<void>;
    /** Masks the database at the URI in place (components/copy: a masked copy swapped in, the unmasked one dropped). */
    mask?(uri: string): Promise<void>;
    /** Ctrl-C: stops before the next step (a temporary branch made so far is removed). */
    signal?: AbortSignal;
    log(line: string): void;
}

/** Finds the project and branches by name and says what a reset would do. Reads only. */
export async function planReset(
    api: Api,
    stack: string,
    c: NeonDatabaseConfig,
    root: string,
    now = new Date(),
    maskedBy?: string,
): Promise<ResetPlan> {
    if (c.project.owned || !c.branch.parent) {
        throw new ResetError(
            `Stack '${stack}' owns the Neon project and uses its default branch: there is no parent to reset it from. ` +
                `db:reset is for stacks that branch off another (staging).`,
        );
    }
    const projectId = await findNeonProject(api, c);
    const target = await findStackBranch(api, projectId, c, stack);
    if (target.default || target.protected) {
        throw new ResetError(
            `Branch '${target.name}' is ${target.default ? "the project's default" : "protected"}; db:reset never overwrites it.`,
        );
    }
    const parent =
        c.branch.parent === "main"
            ? ((await findBranch(api, projectId, "main")) ?? (await defaultBranch(api, projectId)))
            : await findBranch(api, projectId, c.branch.parent);
    if (!parent)
        throw new ResetError(`Neon project '${c.project.name}' has no branch '${c.branch.parent}' to reset '${c.branch.name}' from.`);
    let sanitizeSql: ResetPlan["sanitizeSql"];
    if (c.sanitizeSql) {
        const file = path.resolve(root, c.sanitizeSql);
        if (!fs.existsSync(file)) throw new ResetError(`keel:database.neon.sanitizeSql points at ${c.sanitizeSql}, which does not exist.`);
        sanitizeSql = { file: c.sanitizeSql, sql: fs.readFileSync(file, "utf8") };
    }
    const t = backupStamp(now);
    return {
        projectId,
        target: { id: target.id, name: target.name },
        parent: { id: parent.id, name: parent.name },
        scratchName: sanitizeSql || maskedBy ? `keel-reset-${c.branch.name}-${t}` : undefined,
        preservedName: `${c.branch.name}-before-reset-${t}`,
        sanitizeSql,
        maskedBy,
        roleName: c.roleName,
        databaseName: c.databaseName,
    };
}

/** The plan, one numbered step a line, for printing before asking. */
export function describePlan(p: ResetPlan): string[] {
    const steps = p.scratchName
        ? [
              `create the temporary branch '${p.scratchName}' from '${p.parent.name}' (${p.parent.id}) at its latest data`,
              ...(p.maskedBy
                  ? [
                        `mask '${p.databaseName}' on it by ${p.maskedBy}: a masked copy checked (row counts, constraints, no original value left) and swapped in, the unmasked one dropped`,
                    ]
                  : []),
              ...(p.sanitizeSql ? [`run ${p.sanitizeSql.file} on it, in one transaction`] : []),
              `restore '${p.target.name}' (${p.target.id}) from it; its current state is kept as '${p.preservedName}'`,
              `delete the temporary branch`,
          ]
        : [
              `restore '${p.target.name}' (${p.target.id}) from '${p.parent.name}' (${p.parent.id}); its current state is kept as '${p.preservedName}'`,
              `(no masking rules (db/masking.yaml) and no sanitization file: the data is copied as it is; keel db mask-init writes the rules)`,
          ];
    return steps.map((s, i) => `  ${i + 1}. ${s}`);
}

/** Carries out a plan. On a failure before the restore, the temporary branch is removed again. */
export async function executeReset(api: Api, p: ResetPlan, hooks: ResetHooks): Promise<void> {
    const wait: WaitOptions = { onProgress: hooks.log };
    let source = p.parent;
    let scratchId: string | undefined;
    try {
        if (p.scratchName) {
            hooks.log(`creating '${p.scratchName}' from '${p.parent.name}'`);
            const id = await createBranchWithCompute(api, p.projectId, { parentId: p.parent.id, name: p.scratchName }, wait, (created) => {
                scratchId = created;
            });
            const uri = await directConnectionUri(api, p.projectId, id, p);
            if (p.maskedBy) {
                if (!hooks.mask) throw new ResetError(`The reset is masked by ${p.maskedBy}, and no masker was given.`);
                hooks.log(`masking '${p.databaseName}' on '${p.scratchName}' by ${p.maskedBy}`);
                await hooks.mask(uri);
            }
            if (p.sanitizeSql) {
                hooks.log(`running ${p.sanitizeSql.file} on '${p.scratchName}'`);
                await hooks.runSql(uri, p.sanitizeSql.sql);
            }
            source = { id, name: p.scratchName };
        }
        hooks.signal?.throwIfAborted();
        await restoreInPlace(api, { projectId: p.projectId, target: p.target, source, preservedName: p.preservedName }, wait, hooks.log);
    } catch (err) {
        if (scratchId) {
            hooks.log(`removing '${p.scratchName}' after the failure`);
            await deleteBranch(api, p.projectId, scratchId, wait).catch((e) =>
                hooks.log(`could not remove '${p.scratchName}' (${e.message}); delete it in the Neon console`),
            );
        }
        throw err;
    }
    if (scratchId) {
        try {
            await deleteBranch(api, p.projectId, scratchId, wait);
            hooks.log(`removed '${p.scratchName}'`);
        } catch (e: any) {
            // The restore succeeded; a leftover scratch branch is untidy, not harmful.
            hooks.log(`note: '${p.scratchName}' could not be removed (${e.message}); delete it in the Neon console when convenient`);
        }
    }
}

/**
 * The sanitization in one transaction: all of it applies, or none. No timeouts
 * (the server's own apply): it may rewrite every row of a large copy.
 */
export async function runSqlInTransaction(uri: string, sql: string, file = "the sanitization file"): Promise<void> {
    await runSqlFile(uri, file, sql, { lockTimeout: "0", statementTimeout: "0" });
}
