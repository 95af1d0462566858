/**
 * What a rollback does, decided before anything is touched: which deploy it
 * goes back to, which migrations stay applied (and which of them the target's
 * code may not survive), which backup a `--with-data` rollback restores and
 * what that loses. Pure: the command (scripts/rollback.ts) gathers the facts
 * and carries the plan out.
 */
import { KeelError } from "../../components/errors";
import { compareVersions } from "../../components/schema/migrationSet";
import type { BackupRecord } from "../../components/backup/types";
import type { FrontendStep } from "../../components/frontend/rollback";
import { Deploy, SECRET } from "./stackHistory";
import { dataHolderNamed, nameOfUrn } from "../../components/dataGuard";

export class RollbackRefusedError extends KeelError {
    constructor(message: string) {
        super(message, "RollbackRefusedError");
    }
}

export interface RollbackRequest {
    /** A version the list shows, or a unique prefix of a successful update's git commit. */
    to?: string;
    /** The last successful update before the current state. */
    previous?: boolean;
}

/** The facts of one deploy that a rollback reads from its stack outputs. */
export interface DeployFacts {
    schemaVersion?: string;
    backendImage?: string;
    renderDeployId?: string;
    backup?: BackupRecord;
}

export function factsOf(d: Deploy): DeployFacts {
    const o = d.outputs;
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const backup =
        o.latestBackup && o.latestBackup !== SECRET && typeof o.latestBackup === "object" ? (o.latestBackup as BackupRecord) : undefined;
    const facts: DeployFacts = {};
    if (typeof o.schemaVersion === "string") facts.schemaVersion = o.schemaVersion;
    if (str(o.backendImage)) facts.backendImage = o.backendImage as string;
    if (str(o.renderDeployId)) facts.renderDeployId = o.renderDeployId as string;
    if (backup?.id) facts.backup = backup;
    return facts;
}

const isSuccessfulUpdate = (d: Deploy) => d.kind === "update" && d.result === "succeeded";

/** The message a rollback's update carries: what scripts/rollback.ts writes and the deploy list reads. */
export function rollbackMessage(version: number, commit: string): string {
    return `rollback to version ${version} (commit ${commit.slice(0, 12)})`;
}

/** The version a deploy rolled back to, when it is a rollback's update (its message says so); else undefined. */
export function rollbackOf(d: Pick<Deploy, "kind" | "message">): number | undefined {
    const m = d.kind === "update" ? /^rollback to version (\d+) \(commit [0-9a-f]{4,40}\)$/.exec(d.message) : null;
    return m ? Number(m[1]) : undefined;
}

/**
 * A deploy a rollback may go to: a successful update from a commit, made from a
 * clean tree. A rollback's own update counts as clean: its code is the commit's,
 * and a Keel before the stack file was kept outside the worktree left that file
 * edited (today's secrets provider), which the CLI recorded as dirty.
 */
const isTarget = (d: Deploy) => isSuccessfulUpdate(d) && !!d.commit && (!d.dirty || rollbackOf(d) !== undefined);

/** The deploy whose outputs are the stack's state now: the newest update, whatever its result. */
export function currentDeploy(deploys: Deploy[]): Deploy | undefined {
    return [...deploys].reverse().find((d) => d.kind === "update");
}

/** A rollback target, checked: a successful update from a clean tree with a commit. */
export function selectTarget(deploys: Deploy[], request: RollbackRequest, stack: string): { target: Deploy; current: Deploy } {
    const current = currentDeploy(deploys);
    if (!current) throw new RollbackRefusedError(`the ${stack} stack has no update in its history: there is nothing to roll back`);
    let target: Deploy | undefined;
    if (request.previous) {
        target = [...deploys].reverse().find((d) => isSuccessfulUpdate(d) && d.version < current.version);
        if (!target) {
            throw new RollbackRefusedError(
                `the ${stack} stack has no successful update before version ${current.version}: there is no previous version to roll back to ` +
                    `(npm run rollback -- --stack ${stack} lists the deploys)`,
            );
        }
    } else {
        const to = (request.to ?? "").trim();
        // Up to 6 digits is a version; 7 or more is a commit (git's shortest abbreviation is 7, and a hash's
        // prefix is all digits about once in a hundred).
        if (/^\d{1,6}$/.test(to)) {
            target = deploys.find((d) => d.version === Number(to));
            if (!target) {
                const commitHint = to.length >= 4 ? `; a commit needs 7 or more of its characters` : "";
                throw new RollbackRefusedError(
                    `the ${stack} stack has no version ${to} (its versions are 1 to ${deploys.length}; npm run rollback -- --stack ${stack} lists them${commitHint})`,
                );
            }
        } else if (/^[0-9a-f]{4,40}$/i.test(to)) {
            const matches = deploys.filter((d) => isSuccessfulUpdate(d) && d.commit?.toLowerCase().startsWith(to.toLowerCase()));
            const commits = new Set(matches.map((d) => d.commit));
            if (commits.size > 1) {
                throw new RollbackRefusedError(
                    `commit prefix '${to}' matches several commits (${[...commits].map((c) => c!.slice(0, 12)).join(", ")}): give more of it, or the version number`,
                );
            }
            // The newest clean update of that commit that was not a rollback to it: its outputs are what that code made
            // itself (a rollback's keep the schema it found); else the newest of them, for the refusal to name.
            const own = matches.filter((d) => isTarget(d) && rollbackOf(d) === undefined);
            const clean = matches.filter(isTarget);
            target = (own.length ? own : clean.length ? clean : matches).at(-1);
            if (!target) {
                throw new RollbackRefusedError(
                    `no successful update of the ${stack} stack ran from a commit starting with '${to}' ` +
                        `(npm run rollback -- --stack ${stack} lists the deploys and their commits)`,
                );
            }
        } else {
            throw new RollbackRefusedError(`--to takes a version number or a git commit (a hex prefix of 4 or more), not '${to}'`);
        }
    }
    checkTarget(target, current, stack);
    return { target, current };
}

function checkTarget(target: Deploy, current: Deploy, stack: string): void {
    const v = `version ${target.version}`;
    if (target.kind !== "update") {
        throw new RollbackRefusedError(
            `${v} of the ${stack} stack is a ${target.kind}, not an update: pick a successful update from the list`,
        );
    }
    if (target.result !== "succeeded") {
        throw new RollbackRefusedError(
            `${v} of the ${stack} stack ${target.result === "failed" ? "failed" : `is ${target.result}`}: only a successful update is a state to go back to; pick one marked as a target in the list`,
        );
    }
    if (!target.commit) {
        throw new RollbackRefusedError(
            `${v} records no git commit (it ran outside a git checkout), so its code cannot be found again; ` +
                `pick an update made from a commit, or check out the code you want and run npm run up -- ${stack}`,
        );
    }
    if (target.dirty && rollbackOf(target) === undefined) {
        throw new RollbackRefusedError(
            `${v} ran from commit ${target.commit.slice(0, 12)} with uncommitted changes, so the code it deployed is not in any commit; ` +
                `pick an update made from a clean tree, or check out ${target.commit.slice(0, 12)}, redo the changes and run npm run up -- ${stack}`,
        );
    }
    if (target === current) {
        throw new RollbackRefusedError(`${v} is the ${stack} stack's current state: there is nothing to roll back`);
    }
}

/** One migration applied after the target, which the rollback leaves applied unless it restores data. */
export interface StayingMigration {
    version: string;
    file: string;
    /** What the target's code may not survive (sql.ts oldCodeBreaks), `line N: …`. */
    breaking: string[];
}

/** A migration file as stayingMigrations reads it (parsed: migrationSet.ts parseMigration). */
export interface MigrationFacts {
    version: string;
    file: string;
    /** sql.ts oldCodeBreaks; `object` names the table or column (without it, the change always counts). */
    breaking: { line: number; what: string; object?: string }[];
    /** sql.ts introducedObjects: what the file creates. */
    introduces?: { line: number; object: string }[];
}

/**
 * The migrations applied after the target, from the migration files of the
 * current checkout. What the target's code may not survive counts only for
 * tables and columns its schema had: a column added after the target and
 * dropped later was never named by its code.
 */
export function stayingMigrations(files: MigrationFacts[], targetVersion: string, currentVersion: string): StayingMigration[] {
    const staying = files
        .filter((f) => compareVersions(f.version, targetVersion || "0") > 0 && compareVersions(f.version, currentVersion || "0") <= 0)
        .sort((a, b) => compareVersions(a.version, b.version));
    // Objects that came into being after the target (in file order, statement by statement).
    const newer = new Set<string>();
    const isNewer = (object: string) => newer.has(object) || [...newer].some((n) => object.startsWith(`${n}.`));
    return staying.map((f) => {
        const breaking: string[] = [];
        const lines = [...new Set([...f.breaking.map((b) => b.line), ...(f.introduces ?? []).map((i) => i.line)])].sort((a, b) => a - b);
        for (const line of lines) {
            for (const b of f.breaking.filter((x) => x.line === line)) {
                if (b.object === undefined || !isNewer(b.object)) breaking.push(`line ${b.line}: ${b.what}`);
            }
            for (const i of (f.introduces ?? []).filter((x) => x.line === line)) newer.add(i.object);
        }
        return { version: f.version, file: f.file, breaking };
    });
}

/**
 * The backup a `--with-data` rollback restores: the one recorded by the first
 * update after the target that migrated past the target's schema version (the
 * backup taken before its first migration).
 */
export function backupBefore(deploys: Deploy[], target: Deploy): BackupRecord | undefined {
    const from = factsOf(target);
    for (const d of deploys) {
        if (d.version <= target.version || d.kind !== "update") continue;
        const facts = factsOf(d);
        if (facts.backup && facts.backup.id !== from.backup?.id && facts.backup.schemaVersion === (from.schemaVersion ?? ""))
            return facts.backup;
    }
    return undefined;
}

/**
 * Whether the target's code must be told to accept applied migrations it has no file for: the schema it will
 * meet is ahead of its newest file. Not the same as "migrations stay": a rollback's own deploy records the
 * schema it kept (ahead of its code), so going back to it again meets versions its code never had.
 */
export function needsAllowMissing(targetFileVersions: string[], schemaItMeets: string | undefined): boolean {
    if (!schemaItMeets) return false;
    const newest = [...targetFileVersions].sort(compareVersions).at(-1) ?? "0";
    return compareVersions(schemaItMeets, newest) > 0;
}

export interface RollbackPlan {
    stack: string;
    target: Deploy;
    current: Deploy;
    withData: boolean;
    /** Migrations applied after the target; they stay unless withData. */
    staying: StayingMigration[];
    /** With data: the backup restored and what is lost. */
    backup?: BackupRecord;
    lost?: string[];
    /** Whether the target's lockfile differs from the checkout's (npm ci in the worktree). */
    installPackages: boolean;
    frontend: FrontendStep;
    /** Human lines, in order. */
    lines: string[];
}

export interface PlanInputs {
    stack: string;
    deploys: Deploy[];
    target: Deploy;
    current: Deploy;
    withData: boolean;
    keepSchema: boolean;
    keepFrontend: boolean;
    staying: StayingMigration[];
    /** With data: the backup to restore (backupBefore, with its full record where the caller has it). */
    backup?: BackupRecord;
    installPackages: boolean;
    frontend: FrontendStep;
    /** Rows per table now, when the database answers (for what --with-data loses). */
    rowsNow?: Record<string, number>;
    /** Why the rows could not be counted. */
    rowsUnknown?: string;
    now: Date;
    /** How the commit reads: its subject line. */
    subject?: string;
}

const short = (c?: string) => (c ? c.slice(0, 12) : "–");

function age(from: Date, now: Date): string {
    const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    if (s < 2 * 86400) return `${Math.round(s / 360) / 10} h`;
    return `${Math.round(s / 8640) / 10} days`;
}

/** The plan, or a refusal naming every reason at once. */
export function planRollback(p: PlanInputs): RollbackPlan {
    const problems: string[] = [];
    const t = factsOf(p.target);
    const c = factsOf(p.current);
    const lines: string[] = [];
    lines.push(
        `Roll the ${p.stack} stack back from version ${p.current.version} (commit ${short(p.current.commit)}) to version ${p.target.version} ` +
            `(commit ${short(p.target.commit)}${p.subject ? ` "${p.subject}"` : ""}, ${p.target.startTime.toISOString()}):`,
    );
    lines.push(
        `  code and infrastructure: the program and Pulumi.${p.stack}.yaml at ${short(p.target.commit)}, in a temporary git worktree; ` +
            (p.installPackages
                ? "its package-lock.json differs from this checkout's: npm ci runs there first"
                : "the installed packages are reused (same package-lock.json)"),
    );
    if (t.backendImage || c.backendImage) {
        lines.push(
            t.backendImage === c.backendImage
                ? `  backend: the image stays ${t.backendImage}`
                : `  backend: ${c.backendImage ?? "–"} -> ${t.backendImage ?? "–"}, through the stack's rollout and health gate`,
        );
    } else if (t.renderDeployId || c.renderDeployId) {
        lines.push(
            `  backend (Render): back to the service settings of version ${p.target.version} (deploy then: ${t.renderDeployId ?? "–"}), followed until live`,
        );
    }
    lines.push(`  frontend: ${p.frontend.line}`);
    if (p.frontend.kind === "refused" && !p.keepFrontend) {
        problems.push(`${p.frontend.line} (pass --keep-frontend to roll back the rest and leave the frontend as it is)`);
    }

    const backup = p.withData ? p.backup : undefined;
    let lost: string[] | undefined;
    if (p.withData) {
        if (!backup) {
            problems.push(
                `--with-data needs the backup taken before the first migration after version ${p.target.version}, and no update recorded one ` +
                    `(keel:migrations.backup is off on this stack, or no migration ran since): roll back with --keep-schema, or restore a backup by hand with npm run db:restore`,
            );
        } else {
            lost = [`everything written since ${backup.takenAt} (${age(new Date(backup.takenAt), p.now)} ago)`];
            if (p.rowsUnknown) lost.push(`rows written since: not counted (${p.rowsUnknown})`);
            else if (!backup.rowCounts) lost.push(`rows written since: not counted (the backup records no row counts)`);
            if (p.rowsNow && backup.rowCounts) {
                for (const [table, rows] of Object.entries(p.rowsNow).sort()) {
                    const then = backup.rowCounts[table] ?? 0;
                    if (rows !== then)
                        lost.push(`${table}: ${rows} rows now, ${then} in the backup (${rows - then > 0 ? "+" : ""}${rows - then})`);
                }
            }
            lines.push(
                `  schema and data: restored from backup ${backup.id} (${backup.kind}, taken ${backup.takenAt} at schema version ${backup.schemaVersion || "none"}); ` +
                    `the migrations after it run again at the next deploy:`,
            );
            for (const m of p.staying) lines.push(`    undone: ${m.file}`);
            lines.push(`  lost:`);
            for (const l of lost) lines.push(`    ${l}`);
        }
    } else if (p.staying.length === 0) {
        lines.push(`  schema: no migration ran after version ${p.target.version}; nothing changes`);
    } else {
        lines.push(
            `  schema stays ahead at ${c.schemaVersion ?? "?"}: the code of version ${p.target.version} runs with these migrations applied:`,
        );
        for (const m of p.staying) {
            lines.push(`    ${m.file}${m.breaking.length ? `  ⚠ the old code may not survive:` : ""}`);
            for (const b of m.breaking) lines.push(`        ${b}`);
        }
        const risky = p.staying.filter((m) => m.breaking.length);
        if (risky.length && !p.keepSchema) {
            problems.push(
                `the code of version ${p.target.version} may not survive ${risky.map((m) => m.file).join(", ")} ` +
                    `(${risky.flatMap((m) => m.breaking).join("; ")}): pass --with-data to restore the schema and data from the backup taken before them, ` +
                    `or --keep-schema to keep the schema as it is anyway`,
            );
        }
    }
    if (problems.length) {
        throw new RollbackRefusedError(
            `the rollback of the ${p.stack} stack to version ${p.target.version} is refused; nothing was changed:\n  - ${problems.join("\n  - ")}`,
        );
    }
    return {
        stack: p.stack,
        target: p.target,
        current: p.current,
        withData: p.withData,
        staying: p.staying,
        ...(backup ? { backup, lost } : {}),
        installPackages: p.installPackages,
        frontend: p.frontend,
        lines,
    };
}

/** A step of the target's plan (the engine's resourcePreEvent): its resource and operation. */
export interface PlannedStep {
    urn: string;
    type: string;
    op: string;
}

/** Operations that delete or replace what a resource holds. */
const LOSING_OPS = ["delete", "replace", "create-replacement", "delete-replaced", "discard", "discard-replaced", "import-replacement"];

/** The data-holding resources (components/dataGuard.ts) the plan would delete or replace, one per resource (a replacement's three steps are one `replace`). */
export function dataLosingSteps(steps: PlannedStep[]): PlannedStep[] {
    const found = new Map<string, PlannedStep>();
    for (const s of steps) {
        if (!dataHolderNamed(nameOfUrn(s.urn)) || !LOSING_OPS.includes(s.op)) continue;
        const op = s.op === "delete" || s.op === "discard" ? s.op : "replace";
        if (!found.has(s.urn) || op === "replace") found.set(s.urn, { ...s, op });
    }
    return [...found.values()];
}

/** Refuses a rollback whose plan (pulumi preview of the target's code) would delete or replace the stack's data. */
export function refuseDataLoss(steps: PlannedStep[], target: Deploy, stack: string): void {
    const losing = dataLosingSteps(steps);
    if (!losing.length) return;
    const named = losing.map((s) => `${s.op} ${nameOfUrn(s.urn)} (${dataHolderNamed(nameOfUrn(s.urn))!.what})`);
    throw new RollbackRefusedError(
        `the rollback of the ${stack} stack to version ${target.version} is refused; nothing was changed: the plan of its code would ${named.join(", ")}, ` +
            `and a rollback never deletes or replaces the stack's data (--with-data restores a backup instead). ` +
            `This happens when the database's settings differ between version ${target.version} and now (kind, directory, user, Neon project), ` +
            `or when the code of version ${target.version} predates KEEL_STATE_ROOT (its local database's directory then resolves inside the temporary worktree): ` +
            `pick a later version (npm run rollback -- --stack ${stack} lists them), or check out the code you want and run npm run up -- ${stack}`,
    );
}

/** A deploy as the list shows it. */
export interface DeployRow {
    version: number;
    time: string;
    result: string;
    kind: string;
    commit: string;
    message: string;
    /** The version a rollback's update went back to; null for any other deploy. */
    rollbackOf: number | null;
    backend: string;
    schemaVersion: string;
    frontendDeployment: string;
    backup: string;
    target: boolean;
    current: boolean;
}

export function deployRows(deploys: Deploy[], subjects: Record<string, string> = {}, frontend: Record<number, string> = {}): DeployRow[] {
    const current = currentDeploy(deploys);
    let previousBackup: string | undefined;
    const rows: DeployRow[] = [];
    for (const d of deploys) {
        const f = factsOf(d);
        const backupTaken = f.backup && f.backup.id !== previousBackup ? f.backup.id : "";
        if (f.backup) previousBackup = f.backup.id;
        rows.push({
            version: d.version,
            time: d.startTime.toISOString().replace(/\.\d+Z$/, "Z"),
            result: d.result,
            kind: d.kind,
            commit: d.commit ? `${d.commit.slice(0, 7)}${d.dirty && rollbackOf(d) === undefined ? "+dirty" : ""}` : "",
            // A rollback is listed as one, not under the subject of the commit it went back to.
            message: rollbackOf(d) !== undefined ? `rollback to version ${rollbackOf(d)}` : (d.commit && subjects[d.commit]) || d.message,
            rollbackOf: rollbackOf(d) ?? null,
            backend: f.backendImage ?? (f.renderDeployId ? `render ${f.renderDeployId}` : ""),
            schemaVersion: f.schemaVersion ?? "",
            frontendDeployment: frontend[d.version] ?? "",
            backup: backupTaken,
            target: isTarget(d) && d !== current,
            current: d === current,
        });
    }
    return rows.reverse();
}

/** The rows as a table, newest first; `*` marks a version a rollback can go to, `>` the current state. */
export function renderDeployTable(rows: DeployRow[]): string {
    const header = ["", "version", "time", "result", "kind", "commit", "message", "backend", "schema", "frontend", "backup before"];
    const cells = rows.map((r) => [
        r.current ? ">" : r.target ? "*" : "",
        String(r.version),
        r.time,
        r.result,
        r.kind,
        r.commit || "–",
        r.message.length > 40 ? `${r.message.slice(0, 39)}…` : r.message || "–",
        r.backend || "–",
        r.schemaVersion || "–",
        r.frontendDeployment || "–",
        r.backup || "–",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) =>
        c
            .map((x, i) => x.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [
        line(header),
        ...cells.map(line),
        "",
        "* a version to roll back to (npm run rollback -- --stack <s> --to <version>); > the current state",
    ].join("\n");
}
