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
import * as fs from "fs";
import * as path from "path";
import { NeonDatabaseConfig } from "../components/config";
import { defaultBranch, findBranch } from "../components/database/neon/common";
import { KeelError } from "../components/errors";
import { runSqlFile } from "../components/schema/seeds";
import { Api, waitForOperations } from "../components/vendors/neon";
import { UsageError } from "./lib/usageError";
import { findNeonProject, findStackBranch, scriptNeonClient } from "./lib/neonStack";
import { readStackConfig } from "./lib/stackConfig";

export class ResetError extends KeelError {
    constructor(message: string) {
        super(message, "ResetError");
    }
}

export interface ResetPlan {
    projectId: string;
    target: { id: string; name: string };
    parent: { id: string; name: string };
    /** Temporary branch for the sanitization; absent without a sanitization file. */
    scratchName?: string;
    preservedName: string;
    sanitizeSql?: { file: string; sql: string };
    roleName: string;
    databaseName: string;
}

export interface ResetHooks {
    /** Runs the sanitization SQL against a connection URI (tests point this at a real PostgreSQL). */
    runSql(uri: string, sql: string): Promise<void>;
    log(line: string): void;
}

function stamp(now: Date): string {
    return now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
}

/** Finds the project and branches by name and says what a reset would do. Reads only. */
export async function planReset(api: Api, stack: string, c: NeonDatabaseConfig, root: string, now = new Date()): Promise<ResetPlan> {
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
    const t = stamp(now);
    return {
        projectId,
        target: { id: target.id, name: target.name },
        parent: { id: parent.id, name: parent.name },
        scratchName: sanitizeSql ? `keel-reset-${c.branch.name}-${t}` : undefined,
        preservedName: `${c.branch.name}-before-reset-${t}`,
        sanitizeSql,
        roleName: c.roleName,
        databaseName: c.databaseName,
    };
}

export function describePlan(p: ResetPlan): string[] {
    const steps = p.sanitizeSql
        ? [
              `create the temporary branch '${p.scratchName}' from '${p.parent.name}' (${p.parent.id}) at its latest data`,
              `run ${p.sanitizeSql.file} on it, in one transaction`,
              `restore '${p.target.name}' (${p.target.id}) from it; its current state is kept as '${p.preservedName}'`,
              `delete the temporary branch`,
          ]
        : [
              `restore '${p.target.name}' (${p.target.id}) from '${p.parent.name}' (${p.parent.id}); its current state is kept as '${p.preservedName}'`,
              `(no sanitization file is configured: the data is copied as it is)`,
          ];
    return steps.map((s, i) => `  ${i + 1}. ${s}`);
}

/** Carries out a plan. On a failure before the restore, the temporary branch is removed again. */
export async function executeReset(api: Api, p: ResetPlan, hooks: ResetHooks): Promise<void> {
    const wait = (ops: any) => waitForOperations(api, p.projectId, ops, { onProgress: hooks.log });
    let sourceId = p.parent.id;
    let scratchId: string | undefined;
    try {
        if (p.sanitizeSql && p.scratchName) {
            hooks.log(`creating '${p.scratchName}' from '${p.parent.name}'`);
            const { data } = await api.createProjectBranch(p.projectId, {
                branch: { parent_id: p.parent.id, name: p.scratchName },
                endpoints: [{ type: "read_write" as never }],
            });
            scratchId = data.branch.id;
            await wait(data.operations);
            const { data: conn } = await api.getConnectionUri({
                projectId: p.projectId,
                branch_id: scratchId,
                database_name: p.databaseName,
                role_name: p.roleName,
                pooled: false,
            });
            hooks.log(`running ${p.sanitizeSql.file} on '${p.scratchName}'`);
            await hooks.runSql(conn.uri, p.sanitizeSql.sql);
            sourceId = scratchId;
        }
        hooks.log(`restoring '${p.target.name}'; its current state is kept as '${p.preservedName}'`);
        const { data: restored } = await api.restoreProjectBranch(p.projectId, p.target.id, {
            source_branch_id: sourceId,
            preserve_under_name: p.preservedName,
        });
        await wait(restored.operations);
    } catch (err) {
        if (scratchId) {
            hooks.log(`removing '${p.scratchName}' after the failure`);
            await api
                .deleteProjectBranch({ projectId: p.projectId, branchId: scratchId })
                .then((r) => wait(r.data.operations))
                .catch((e) => hooks.log(`could not remove '${p.scratchName}' (${e.message}); delete it in the Neon console`));
        }
        throw err;
    }
    if (scratchId) {
        try {
            const { data } = await api.deleteProjectBranch({ projectId: p.projectId, branchId: scratchId });
            await wait(data.operations);
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
