/**
 * keel rollback --stack <s> [--to <version|commit> | --previous] [options]   (npm run rollback)
 *
 * Without a target: the stack's deploys, newest first (--json: as data). With
 * one: the stack as it was after that deploy. The target's code and stack file
 * come from its git commit in a temporary worktree and run against the same
 * stack and state backend, with today's secrets provider; the backend goes
 * back to the target's image through the stack's own rollout and health gate;
 * the schema stays ahead unless --with-data restores the backup taken before
 * the first migration after the target. Everything that could refuse the
 * rollback is checked before anything is changed (scripts/lib/rollbackPlan.ts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parse, stringify } from "yaml";
import { executeNeonRestore, planNeonRestore } from "../components/backup/neon";
import { findDump, readTableStats, restoreDump } from "../components/backup/pgDump";
import type { KeelConfig } from "../components/config";
import { KeelError } from "../components/errors";
import { frontendColumn, planFrontendRollback } from "../components/frontend/rollback";
import { openClient } from "../components/postgres/connection";
import { parseMigration, scanMigrations } from "../components/schema/migrationSet";
import { keelStack, policyPackPath, stackFileStage, stateBackend } from "./lib/engine";
import { addWorktree, commitSubjects, hasCommit, repositoryOf, sameLockfile, Worktree } from "./lib/git";
import { neonTarget } from "./lib/neonStack";
import { UsageError } from "./lib/usageError";
import { pulumiCliOrBuild } from "./lib/pulumiCli";
import type { BackupRecord } from "../components/backup/types";
import {
    backupBefore,
    deployRows,
    factsOf,
    needsAllowMissing,
    planRollback,
    renderDeployTable,
    RollbackPlan,
    refuseDataLoss,
    rollbackMessage,
    RollbackRefusedError,
    selectTarget,
    stayingMigrations,
} from "./lib/rollbackPlan";
import type { RunnerResult } from "./lib/rollbackRunner";
import { stackDatabaseUrl } from "./lib/stackDatabase";
import { STATE_ROOT_ENV, stateRoot } from "../components/stateRoot";
import { readStackConfig } from "./lib/stackConfig";
import { triggerOf } from "./lib/deployOutcome";
import { acquireRollbackLock, breakRollbackLock, describeHolder } from "./lib/rollbackLock";
import { Deploy, listDeploys, stackLocks } from "./lib/stackHistory";
import { dataLossRefusalIn } from "../components/dataGuard";
import type { Trigger } from "../components/records/record";
import { rollbackEnded } from "./lib/rollbackOutcome";

export class RollbackFailedError extends KeelError {
    constructor(message: string) {
        super(message, "RollbackFailedError");
    }
}

export interface RollbackIo {
    root: string;
    env: Record<string, string | undefined>;
    /** A line for the user. */
    out(line: string): void;
    confirm(question: string): Promise<boolean>;
    /** A typed answer; undefined when nobody can answer. */
    ask(question: string): Promise<string | undefined>;
    /** Milliseconds, for "recovered in"; the wall clock where it runs. */
    now(): number;
}

export interface RollbackOptions {
    /** Required: the stack to list or roll back. */
    stack?: string;
    /** The version the list shows, or a unique prefix of a successful update's git commit. */
    to?: string;
    /** The last successful update before the current state. */
    previous?: boolean;
    /** Also restore the schema and data from the backup taken before the first migration after the target. */
    withData?: boolean;
    /** Keep the newer schema even where the plan flags migrations the old code may not survive. */
    keepSchema?: boolean;
    /** Go ahead when the frontend cannot be rolled back. */
    keepFrontend?: boolean;
    yes?: boolean;
    /** With no target: the deploys as JSON. */
    json?: boolean;
    /** Remove the stack's rollback lock that a killed rollback left behind, and nothing else. */
    unlock?: boolean;
    /** Who started it, for its record and notice; default from the environment (KEEL_TRIGGER, GitHub Actions), else by hand. */
    trigger?: Trigger;
}

export async function runRollback(options: RollbackOptions, io: RollbackIo): Promise<number> {
    const started = io.now();
    const stack = options.stack;
    if (!stack) throw new UsageError("--stack <stack> is required");
    if (options.to && options.previous) throw new UsageError("give --to <target> or --previous, not both");
    if (options.withData && options.keepSchema) throw new UsageError("--with-data and --keep-schema contradict each other: pick one");
    if (options.unlock) {
        if (options.to || options.previous) throw new UsageError("--unlock goes alone: it removes the lock and rolls nothing back");
        const holder = await breakRollbackLock(io.root, stack, io.env);
        io.out(
            holder
                ? `removed the ${stack} stack's rollback lock (${describeHolder(holder)})`
                : `the ${stack} stack has no rollback lock: nothing to remove`,
        );
        return 0;
    }
    if (!options.to && !options.previous) return listRollbackTargets(options, io, stack);
    if (options.json) throw new UsageError("--json goes with the list (no target)");

    // One rollback of a stack at a time, held from the first read of its history to the end (scripts/lib/rollbackLock.ts).
    const lock = await acquireRollbackLock(io.root, stack, io.env);
    const interrupted = () => void lock.release().finally(() => process.exit(130));
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    try {
        return await rollbackTo(options, io, stack, started);
    } finally {
        process.off("SIGINT", interrupted);
        process.off("SIGTERM", interrupted);
        await lock.release();
    }
}

/** The list (no target): newest first, as a table or --json. */
async function listRollbackTargets(options: RollbackOptions, io: RollbackIo, stack: string): Promise<number> {
    if (options.withData || options.keepSchema || options.yes) {
        throw new UsageError("--with-data, --keep-schema and --yes go with a target: --to <target> or --previous");
    }
    const deploys = await listDeploys(io.root, stack, io.env, { say: (line) => process.stderr.write(`${line}\n`) });
    const subjects = safeSubjects(io.root, deploys);
    const frontend = await frontendColumn(deploys, {
        token: deploys.length ? await vercelToken(io, stack, deploys[deploys.length - 1]) : undefined,
        env: io.env,
        say: (line) => process.stderr.write(`${line}\n`),
    });
    const rows = deployRows(deploys, subjects, frontend);
    if (options.json) io.out(JSON.stringify(rows, null, 2));
    else if (!rows.length) io.out(`The ${stack} stack has no deploys yet.`);
    else io.out(renderDeployTable(rows));
    return 0;
}

async function rollbackTo(options: RollbackOptions, io: RollbackIo, stack: string, started: number): Promise<number> {
    const deploys = await listDeploys(io.root, stack, io.env, { say: io.out });
    const subjects = safeSubjects(io.root, deploys);
    const withData = options.withData === true;
    const { target, current } = selectTarget(deploys, { to: options.to, previous: options.previous === true }, stack);
    repositoryOf(io.root);
    if (!hasCommit(io.root, target.commit!)) {
        throw new RollbackRefusedError(
            `version ${target.version} ran from commit ${target.commit!.slice(0, 12)}, which this repository does not have: ` +
                `run git fetch (the commit may be on a branch not fetched here), then try again`,
        );
    }
    // A self-managed backend's lock objects; on Pulumi Cloud, an update still in progress in the history.
    const running = deploys
        .filter((d) => d.result === "in-progress")
        .map((d) => `version ${d.version}, started ${d.startTime.toISOString()}`);
    const locks = [...(await stackLocks(io.root, stack, io.env)), ...running];
    if (locks.length) {
        throw new RollbackRefusedError(
            `the ${stack} stack is locked by a running update (${locks.join("; ")}): wait for it to end and try again ` +
                `(if no update is running, remove the stale lock with: npm run pulumi -- cancel --stack ${stack})`,
        );
    }

    const config = readStackConfig(io.root, stack, io.env);
    const t = factsOf(target);
    const c = factsOf(current);
    const staying = await stayingFiles(io.root, config, t.schemaVersion ?? "", c.schemaVersion ?? "");
    const reusePackages = sameLockfile(io.root, target.commit!);
    const frontend = await planFrontendRollback({
        projectId: stringOutput(target, "frontendProjectId") ?? stringOutput(current, "frontendProjectId"),
        time: target.endTime ?? target.startTime,
        token: await vercelToken(io, stack, target),
        env: io.env,
        say: io.out,
    });
    const backup = withData ? fullBackupRecord(io, config, backupBefore(deploys, target)) : undefined;
    const rowsNow = withData && config.database.kind !== "neon" ? await rowsNowOf(io, stack) : undefined;
    const plan = planRollback({
        stack,
        deploys,
        target,
        current,
        withData,
        keepSchema: options.keepSchema === true,
        keepFrontend: options.keepFrontend === true,
        staying,
        ...(backup ? { backup } : {}),
        installPackages: !reusePackages,
        frontend: frontend.step,
        ...(typeof rowsNow === "object" ? { rowsNow } : typeof rowsNow === "string" ? { rowsUnknown: rowsNow } : {}),
        now: new Date(io.now()),
        ...(subjects[target.commit!] ? { subject: subjects[target.commit!] } : {}),
    });

    io.out(`preparing the code of version ${target.version} (commit ${target.commit!.slice(0, 12)}) in a temporary git worktree`);
    const worktree = addWorktree(io.root, target.commit!, { reusePackages, say: io.out });
    // The stack file the target runs with, and the runner's results: outside the worktree, which stays its commit.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "keel-rollback-run-"));
    try {
        const configFiles = prepareWorktree(io, worktree, scratch, stack, plan);
        const cli = pulumiCliOrBuild(io.root, io.env);
        const env: Record<string, string | undefined> = {
            ...io.env,
            // The same state as this checkout's commands use, wherever the worktree is.
            PULUMI_BACKEND_URL: stateBackend(io.root, io.env),
            // The local database's directory and the backups are this checkout's (components/stateRoot.ts).
            [STATE_ROOT_ENV]: stateRoot(io.env, path.resolve(io.root)),
            PATH: [path.dirname(cli.bin), io.env.PATH ?? ""].join(path.delimiter),
            ...cleanTreeGitConfig(scratch, io.env),
        };
        const short = target.commit!.slice(0, 12);
        const check = runTarget(worktree, env, scratch, { root: worktree.root, stack, mode: "preview", configFile: configFiles.preview });
        if (!check.ok) {
            const cause = check.errors.join("; ");
            if (/passphrase|decrypt|secrets (manager|provider)|cipher/i.test(cause)) {
                throw new RollbackRefusedError(
                    `the config of version ${target.version} (Pulumi.${stack}.yaml at ${short}) cannot be read with today's secrets provider: ` +
                        `${cause}. Set PULUMI_CONFIG_PASSPHRASE to the passphrase the stack had then, or pick a later version; nothing was changed`,
                );
            }
            // The data guard refused the target's plan itself: the same refusal as a plan that shows the step.
            const guarded = dataLossRefusalIn(cause);
            if (guarded) refuseDataLoss([{ urn: guarded.name, type: "", op: guarded.action }], target, stack);
            throw new RollbackRefusedError(
                `the preview of version ${target.version}'s code (commit ${short}) failed: ${cause}. Nothing was changed; ` +
                    `fix the cause, or pick another version (npm run rollback -- --stack ${stack} lists them)`,
            );
        }
        refuseDataLoss(check.steps, target, stack);

        for (const line of plan.lines) io.out(line);
        if (!(await confirmed(options, io, stack, withData))) {
            io.out("not confirmed: nothing was changed (pass --yes to go ahead without asking).");
            return 1;
        }

        if (withData) await restoreData(io, config, plan);
        const message = rollbackMessage(target.version, target.commit!);
        const policy = stackFileStage(worktree.root, stack) !== "dev" && io.env.KEEL_SKIP_POLICY !== "1";
        io.out(`${message}: pulumi up of the ${stack} stack with the code of ${short}`);
        const up = runTarget(worktree, env, scratch, {
            root: worktree.root,
            stack,
            mode: "up",
            configFile: configFiles.up,
            message,
            policyPacks: policy ? [policyPackPath(worktree.root)] : [],
        });
        const ended = (ok: boolean, cause?: string) =>
            rollbackEnded({
                root: io.root,
                env: io.env,
                stack,
                stage: stackFileStage(io.root, stack),
                ok,
                ...(cause ? { cause } : {}),
                fromVersion: current.version,
                toVersion: target.version,
                toCommit: target.commit!,
                ...(subjects[target.commit!] ? { subject: subjects[target.commit!] } : {}),
                durationMs: io.now() - started,
                trigger: options.trigger ?? triggerOf(io.env),
                say: io.out,
            });
        if (!up.ok) {
            await ended(false, up.errors.join("; "));
            const hasBackend = !!(config.backend || t.backendImage || c.backendImage || t.renderDeployId || c.renderDeployId);
            const pending = await pendingOperations(io, stack);
            throw new RollbackFailedError(
                `the rollback's update failed: ${up.errors.map((e) => e.replace(/\.+$/, "")).join("; ")}. The ${stack} stack keeps the version it had` +
                    (hasBackend ? `; a rollout that failed its health checks put back every machine it had updated` : "") +
                    (pending ? `. The engine left ${pending}: run npm run refresh -- ${stack}, then npm run up -- ${stack}` : "") +
                    (withData
                        ? `. The data WAS restored from ${plan.backup!.id}: the database before the restore is kept (see above); ` +
                          `npm run up -- ${stack} re-applies the newer migrations, or npm run db:restore puts the data back`
                        : ""),
            );
        }
        io.out(
            `recovered in ${((io.now() - started) / 1000).toFixed(1)} s: the ${stack} stack is at version ${target.version}'s code (commit ${short})`,
        );
        await ended(true);
        return 0;
    } finally {
        worktree.remove();
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/**
 * Environment for the CLI's `git status` (it records git.dirty from it): what
 * the rollback adds to the worktree (the node_modules link, the build, Keel's
 * cache) is ignored, through git's own GIT_CONFIG_* variables, so nothing in
 * the user's repository is changed.
 */
export function cleanTreeGitConfig(scratch: string, env: Record<string, string | undefined>): Record<string, string> {
    const file = path.join(scratch, "git-excludes");
    fs.writeFileSync(file, "node_modules\ndist/\n.keel/\n");
    const n = Number(env.GIT_CONFIG_COUNT ?? "0") || 0;
    return { GIT_CONFIG_COUNT: String(n + 1), [`GIT_CONFIG_KEY_${n}`]: "core.excludesFile", [`GIT_CONFIG_VALUE_${n}`]: file };
}

/** What a failed update left pending in the stack's state (pending operations, resources awaiting replacement), or undefined. */
async function pendingOperations(io: RollbackIo, stack: string): Promise<string | undefined> {
    try {
        const deployment = (await (await keelStack({ root: io.root, stack, env: io.env, create: false })).exportStack()).deployment;
        const ops: any[] = deployment?.pending_operations ?? [];
        const replacing = (deployment?.resources ?? []).filter((r: any) => r.pendingReplacement);
        const parts = [
            ...(ops.length
                ? [
                      `${ops.length} pending operation${ops.length === 1 ? "" : "s"} (${ops.map((o) => `${o.type} ${o.resource?.urn?.split("::").pop()}`).join(", ")})`,
                  ]
                : []),
            ...(replacing.length ? [`${replacing.map((r: any) => r.urn.split("::").pop()).join(", ")} awaiting replacement`] : []),
        ];
        return parts.length ? parts.join(" and ") : undefined;
    } catch {
        // The state could not be read here; the failure above is what matters.
        return undefined;
    }
}

function stringOutput(d: Deploy, key: string): string | undefined {
    const v = d.outputs[key];
    return typeof v === "string" && v ? v : undefined;
}

/** VERCEL_API_TOKEN, else the stack's keel:vercelApiToken (decrypted by the engine); only for stacks with a frontend. */
async function vercelToken(io: RollbackIo, stack: string, target: Deploy): Promise<string | undefined> {
    if (io.env.VERCEL_API_TOKEN || !stringOutput(target, "frontendProjectId")) return undefined;
    try {
        return (await (await keelStack({ root: io.root, stack, env: io.env })).getConfig("keel:vercelApiToken")).value || undefined;
    } catch {
        return undefined;
    }
}

function safeSubjects(root: string, deploys: Deploy[]): Record<string, string> {
    try {
        return commitSubjects(
            root,
            deploys.flatMap((d) => (d.commit ? [d.commit] : [])),
        );
    } catch {
        // Not a git checkout: the list shows the updates' own messages.
        return {};
    }
}

/** The migration files of this checkout applied after the target, with what old code may not survive. */
async function stayingFiles(root: string, config: KeelConfig, targetVersion: string, currentVersion: string) {
    const sources = scanMigrations(path.resolve(root, config.migrations.dir));
    const between = stayingMigrations(
        sources.map((s) => ({ version: s.version, file: s.file, breaking: [] })),
        targetVersion,
        currentVersion,
    );
    const parsed = await Promise.all(sources.filter((s) => between.some((b) => b.version === s.version)).map((s) => parseMigration(s)));
    return stayingMigrations(parsed, targetVersion, currentVersion);
}

/** A pg_dump backup's whole record (row counts, checksum) from its sidecar file; the outputs keep a summary. */
function fullBackupRecord(io: RollbackIo, config: KeelConfig, backup: BackupRecord | undefined): BackupRecord | undefined {
    if (!backup || backup.kind !== "pg_dump") return backup;
    try {
        return { ...backup, ...findDump(path.resolve(io.root, config.migrations.backupDir), config.stack, backup.id) };
    } catch {
        // The file is gone from this machine: the restore says so; the plan shows what the outputs record.
        return backup;
    }
}

/** Rows per table now, for what --with-data loses; or why the database did not say. */
async function rowsNowOf(io: RollbackIo, stack: string): Promise<Record<string, number> | string> {
    let client: Client | undefined;
    try {
        client = await openClient(await databaseUrlOf(io, stack));
        const { tables } = await readTableStats(client, false);
        return Object.fromEntries(Object.entries(tables).map(([t, s]) => [t, s.rows]));
    } catch (err) {
        return String((err as Error)?.message ?? err).split("\n")[0];
    } finally {
        await client?.end().catch(() => undefined);
    }
}

/** The stack's own direct database URL (its databaseUrl output), never DATABASE_URL, which may name another stack's database. */
function databaseUrlOf(io: RollbackIo, stack: string): Promise<string> {
    return stackDatabaseUrl({ root: io.root, stack, env: io.env });
}

/**
 * The target's stack file, made to run today: today's secrets provider (its
 * salt or key), and, when migrations stay applied, the runner told to accept
 * applied versions whose files the old code does not have. Written outside the
 * worktree (the runner passes it as --config-file): an edited file in the
 * worktree would make the CLI record the rollback's update as dirty. Then the
 * target's code is built. Returns the stack files for the preview and the update.
 */
function prepareWorktree(
    io: RollbackIo,
    worktree: Worktree,
    scratch: string,
    stack: string,
    plan: RollbackPlan,
): { preview: string; up: string } {
    const file = `Pulumi.${stack}.yaml`;
    const read = (dir: string) => (fs.existsSync(path.join(dir, file)) ? (parse(fs.readFileSync(path.join(dir, file), "utf8")) ?? {}) : {});
    const now = read(io.root);
    const then = read(worktree.root);
    for (const key of ["secretsprovider", "encryptedkey", "encryptionsalt"]) {
        if (now[key] !== undefined) then[key] = now[key];
        else delete then[key];
    }
    const write = (name: string, allowMissing: boolean) => {
        const doc = structuredClone(then);
        if (allowMissing) {
            doc.config ??= {};
            const m = doc.config["keel:migrations"];
            doc.config["keel:migrations"] = { ...(m && typeof m === "object" ? m : {}), allowMissing: true };
        }
        fs.mkdirSync(path.join(scratch, name));
        fs.writeFileSync(path.join(scratch, name, file), stringify(doc));
        return path.join(scratch, name, file);
    };
    // The target's own migration files, against the schema each run meets: the preview runs before a --with-data
    // restore (the newer migrations still applied); the update after it (the backup's schema, the target's).
    const dir = then.config?.["keel:migrations"]?.dir;
    let versions: string[] = [];
    try {
        versions = scanMigrations(path.resolve(worktree.root, typeof dir === "string" ? dir : "migrations")).map((m) => m.version);
    } catch {
        // Unreadable files: the target's own program says why; nothing of them is known to be applied.
    }
    const schemaNow = factsOf(plan.current).schemaVersion;
    const files = {
        preview: write("preview", needsAllowMissing(versions, schemaNow)),
        up: write("up", needsAllowMissing(versions, plan.withData ? factsOf(plan.target).schemaVersion : schemaNow)),
    };
    io.out(`building the code of ${plan.target.commit!.slice(0, 12)}`);
    const build = spawnSync(process.execPath, ["tools/build.js"], { cwd: worktree.root, encoding: "utf8" });
    if (build.status !== 0) {
        throw new RollbackRefusedError(
            `the code of ${plan.target.commit!.slice(0, 12)} does not build (node tools/build.js): ${(build.stderr || build.stdout).trim()}; nothing was changed`,
        );
    }
    if (!fs.existsSync(path.join(worktree.root, "dist", "scripts", "lib", "engine.js"))) {
        throw new RollbackRefusedError(
            `the code of ${plan.target.commit!.slice(0, 12)} predates Keel's engine module (scripts/lib/engine.ts), so it cannot be run from here; nothing was changed`,
        );
    }
    return files;
}

interface TargetJob {
    root: string;
    stack: string;
    mode: "preview" | "up";
    configFile: string;
    message?: string;
    policyPacks?: string[];
}

/** Runs the target's program (lib/rollbackRunner.ts) in its own process; an update's progress goes to stdout as it comes. */
function runTarget(worktree: Worktree, env: Record<string, string | undefined>, scratch: string, job: TargetJob): RunnerResult {
    const result = path.join(scratch, `${job.mode}-result.json`);
    fs.rmSync(result, { force: true });
    const r = spawnSync(process.execPath, [path.join(__dirname, "lib", "rollbackRunner.js"), JSON.stringify({ ...job, result })], {
        cwd: worktree.root,
        env: env as NodeJS.ProcessEnv,
        encoding: "utf8",
        stdio: ["ignore", job.mode === "up" ? "inherit" : "pipe", "pipe"],
        maxBuffer: 64 * 1024 * 1024,
    });
    if (fs.existsSync(result)) return JSON.parse(fs.readFileSync(result, "utf8")) as RunnerResult;
    // The runner itself died (it could not load the target's engine, or was killed): its last words say why.
    const why = (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim().split("\n").pop();
    return { ok: false, steps: [], errors: [`the runner of the target's code stopped: ${why}`] };
}

async function confirmed(options: RollbackOptions, io: RollbackIo, stack: string, withData: boolean): Promise<boolean> {
    if (options.yes === true) return true;
    if (!withData) return io.confirm(`Roll the ${stack} stack back? (yes/no) `);
    const answer = await io.ask(`This restores data and loses what is listed above. Type the stack's name (${stack}) to go ahead: `);
    return answer?.trim() === stack;
}

async function restoreData(io: RollbackIo, config: KeelConfig, plan: RollbackPlan): Promise<void> {
    const backup = plan.backup!;
    if (config.database.kind === "neon") {
        const target = await neonTarget(io, config, config.database);
        const restore = await planNeonRestore(target, backup.id);
        const result = await executeNeonRestore(target, restore, io.out);
        io.out(`data restored from ${backup.id}; the branch before the restore is kept as '${result.preservedName}'`);
        return;
    }
    const url = await databaseUrlOf(io, config.stack);
    const record = findDump(path.resolve(io.root, config.migrations.backupDir), config.stack, backup.id);
    const r = await restoreDump(url, record, () => true, { progress: io.out, historySchema: config.migrations.historySchema, env: io.env });
    io.out(`data restored from ${backup.id} (${r.checked.join("; ")}); the database before the restore is kept as '${r.previous}'`);
}
