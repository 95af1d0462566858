/**
 * Neon backups: a snapshot of a stack's branch is a child branch
 * `backup-<stack>-<yyyymmdd-hhmmss>-before-<version>` made at the branch's
 * head, without a compute, expiring after the retention period. Restoring
 * one uses Neon's branch restore with `preserve_under_name`, so the state
 * before the restore is kept as a branch and the restore can itself be undone
 * the same way. A drill restores a backup into a scratch branch with its own
 * compute, has the caller compare it with the source, and always removes the
 * scratch branch.
 *
 * The Neon API has no way to read a branch's current (head) LSN: branch
 * objects carry only `parent_lsn`, the parent's LSN the branch was made at.
 * So a backup is created from the stack's branch at head (no parent_lsn in
 * the request) and records the LSN Neon reports for the new branch.
 *
 * Neither the API key nor a password ever enters a message (connection URIs
 * go only to the caller's compare()).
 */
import type { Branch, Operation } from "@neondatabase/api-client";
import { KeelError } from "../errors";
import {
    Api,
    isNotFound,
    mayHaveBeenProcessed,
    neonClient,
    NeonCredentialSources,
    neonErrorStatus,
    resolveNeonCredentials,
    waitForOperations,
    waitForRunningOperations,
    WaitOptions,
} from "../vendors/neon";
import {
    createBranchWithCompute,
    deleteBranch,
    directConnectionUri,
    getBranch,
    InPlaceRestore,
    restoreInPlace,
    searchBranches,
} from "./neonBranches";
import type { BackupRecord, DrillReport } from "./types";

/** A Neon backup that cannot be taken, found, or restored as asked. */
export class NeonBackupError extends KeelError {
    constructor(message: string) {
        super(message, "NeonBackupError");
    }
}

/** The stack's branch, whose backups these are. */
export interface NeonBackupTarget {
    /** A client from neonClient() (or neonContext().client() in a provider). */
    api: Api;
    projectId: string;
    /** The stack's branch. */
    branchId: string;
    branchName: string;
    stack: string;
    /** Polling of operations; default: WaitOptions' defaults, progress to the caller's progress. */
    wait?: WaitOptions;
}

/**
 * A target with a client made now from the credentials where Keel looks for
 * them (as a Neon provider's configure() read `keel:neonApiKey` and
 * `keel:neonApiUrl`, else NEON_API_KEY and NEON_API_URL). The Schema provider
 * calls it in its own process, where those are set.
 */
export function neonBackupTarget(
    ids: { projectId: string; branchId: string; branchName: string; stack: string },
    credentials: NeonCredentialSources,
    onProgress?: (line: string) => void,
): NeonBackupTarget {
    const creds = resolveNeonCredentials(credentials);
    const api = neonClient({ apiKey: creds.apiKey, baseUrl: creds.baseUrl, onProgress });
    return { api, projectId: ids.projectId, branchId: ids.branchId, branchName: ids.branchName, stack: ids.stack, wait: { onProgress } };
}

export interface TakeNeonBackupOptions {
    /** The first pending migration version the backup is taken before ("" for a backup by hand or a drill). */
    beforeVersion: string;
    /** The newest applied version the branch holds ("" when none). */
    schemaVersion: string;
    /** Neon deletes the backup branch this many days after it was taken; 0 keeps it until deleted by hand. */
    retentionDays: number;
    /** Default: now. The name and expiry derive from it. */
    now?: Date;
    progress?: (line: string) => void;
    /** Without a beforeVersion the name ends in `-<label>` (default "manual"; the drill uses "drill"). */
    label?: string;
}

/** Annotation keys Keel sets on backup branches (annotation values are strings). */
const ANNOTATION = {
    kind: "keel-backup",
    stack: "keel-stack",
    schemaVersion: "keel-schema-version",
    beforeVersion: "keel-before-version",
    takenAt: "keel-taken-at",
} as const;

/** `20261121-100000` (UTC). */
export function backupStamp(now: Date): string {
    return now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
}

/** RFC 3339 with whole seconds, as Neon's expires_at requires. */
function isoSeconds(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Only characters Neon branch names and shells handle without quoting surprises. */
function nameSafe(value: string): string {
    return value.replace(/[^A-Za-z0-9._-]+/g, "_");
}

/** `backup-<stack>-<yyyymmdd-hhmmss>-before-<version>`, or `…-<label>` without a version. */
export function neonBackupName(stack: string, now: Date, beforeVersion: string, label = "manual"): string {
    return `backup-${stack}-${backupStamp(now)}-${beforeVersion ? `before-${nameSafe(beforeVersion)}` : nameSafe(label)}`;
}

export interface ParsedBackupName {
    /** ISO time from the name's stamp. */
    takenAt: string;
    beforeVersion: string;
    /** `manual`, `drill`… when not taken before a migration. */
    label?: string;
}

/** Reads a backup branch name of `stack`; undefined for any other name (another stack's included). */
export function parseNeonBackupName(stack: string, name: string): ParsedBackupName | undefined {
    const prefix = `backup-${stack}-`;
    if (!name.startsWith(prefix)) return undefined;
    const m = /^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)-(?:before-(.+)|([A-Za-z0-9._-]+))$/.exec(name.slice(prefix.length));
    if (!m) return undefined;
    const takenAt = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
    if (Number.isNaN(Date.parse(takenAt))) return undefined;
    return m[7] !== undefined ? { takenAt, beforeVersion: m[7] } : { takenAt, beforeVersion: "", label: m[8] };
}

function waitOptions(target: NeonBackupTarget, progress?: (line: string) => void): WaitOptions {
    return { ...target.wait, onProgress: target.wait?.onProgress ?? progress };
}

/** The backup record of a branch, from its annotation when it has Keel's, else from its name. */
function toRecord(target: NeonBackupTarget, branch: Branch, annotation: Record<string, string> | undefined): BackupRecord | undefined {
    const parsed = parseNeonBackupName(target.stack, branch.name);
    if (!parsed) return undefined;
    const a = annotation?.[ANNOTATION.kind] === "neon-branch" ? annotation : undefined;
    if (a && a[ANNOTATION.stack] !== undefined && a[ANNOTATION.stack] !== target.stack) return undefined;
    return {
        id: branch.id,
        kind: "neon-branch",
        stack: target.stack,
        takenAt: a?.[ANNOTATION.takenAt] || parsed.takenAt,
        schemaVersion: a?.[ANNOTATION.schemaVersion] ?? "",
        beforeVersion: a?.[ANNOTATION.beforeVersion] ?? parsed.beforeVersion,
        location: `${target.projectId}/${branch.name}`,
        branchId: branch.id,
        ...(branch.parent_lsn ? { lsn: branch.parent_lsn } : {}),
        ...(branch.expires_at ? { expiresAt: branch.expires_at } : {}),
    };
}

/**
 * Snapshots the stack's branch at its head: a child branch without a compute,
 * expiring after retentionDays, annotated with the stack and schema versions.
 * Waits for Neon's operations, then reads the LSN Neon recorded for it. A
 * create whose response was lost is not repeated: the branch it made is found
 * by its name and adopted.
 */
export async function takeNeonBackup(target: NeonBackupTarget, options: TakeNeonBackupOptions): Promise<BackupRecord> {
    const { api, projectId } = target;
    const now = options.now ?? new Date();
    const progress = options.progress;
    const wait = waitOptions(target, progress);
    const name = neonBackupName(target.stack, now, options.beforeVersion, options.label);
    const takenAt = now.toISOString();
    const expiresAt =
        options.retentionDays > 0
            ? isoSeconds(Math.ceil(now.getTime() / 1000) * 1000 + Math.round(options.retentionDays * 86_400_000))
            : undefined;
    const annotation: Record<string, string> = {
        [ANNOTATION.kind]: "neon-branch",
        [ANNOTATION.stack]: target.stack,
        [ANNOTATION.schemaVersion]: options.schemaVersion,
        [ANNOTATION.beforeVersion]: options.beforeVersion,
        [ANNOTATION.takenAt]: takenAt,
    };

    const findExisting = async (): Promise<Branch | undefined> => {
        const found = (await searchBranches(api, projectId, name)).filter((b) => b.branch.name === name);
        if (found.length > 1) {
            throw new NeonBackupError(
                `Neon project ${projectId} has ${found.length} branches named '${name}' (${found.map((b) => b.branch.id).join(", ")}); delete the extra ones in the Neon console, then try again.`,
            );
        }
        const branch = found[0]?.branch;
        if (branch && branch.parent_id !== target.branchId) {
            throw new NeonBackupError(
                `Neon project ${projectId} already has a branch '${name}' (${branch.id}) that is not a child of '${target.branchName}' (${target.branchId}); ` +
                    `Keel will not record it as a backup of stack '${target.stack}'. Rename or delete it in the Neon console, then try again.`,
            );
        }
        return branch;
    };

    let branch: Branch | undefined;
    for (let attempt = 1; !branch; attempt++) {
        branch = await findExisting();
        if (branch) {
            progress?.(
                attempt === 1
                    ? `backup branch '${name}' exists already (${branch.id}); adopting it`
                    : `found '${name}' (${branch.id}); adopting it`,
            );
            await waitForRunningOperations(api, projectId, { branchId: branch.id }, wait);
            break;
        }
        progress?.(
            `creating backup branch '${name}' from '${target.branchName}' at its current LSN${expiresAt ? `, expiring ${expiresAt}` : ""}`,
        );
        try {
            const { data } = await api.createProjectBranch(projectId, {
                branch: { parent_id: target.branchId, name, ...(expiresAt ? { expires_at: expiresAt } : {}) },
                annotation_value: annotation,
            });
            branch = data.branch;
            await waitForOperations(api, projectId, data.operations as Operation[], wait);
        } catch (err) {
            // Created, or not? Look before creating again (at most three creates in all).
            const lost = mayHaveBeenProcessed(err);
            if (branch || (!lost && neonErrorStatus(err) !== 409) || attempt >= 3) throw err;
            progress?.(
                `${lost ? `the response to creating '${name}' was lost` : `Neon says '${name}' exists`}; looking for it before trying again`,
            );
        }
    }
    // parent_lsn is final once the operations are done: read it then.
    const current = await getBranch(api, projectId, branch.id);
    if (!current)
        throw new NeonBackupError(
            `The backup branch '${name}' (${branch.id}) disappeared from Neon project ${projectId} right after it was created; try again.`,
        );
    const record = toRecord(target, current.branch, current.annotation ?? annotation);
    if (!record) throw new NeonBackupError(`Branch '${name}' does not read back as a backup of stack '${target.stack}'.`);
    // A backup taken by this call carries what the caller knows, even if an adopted branch lacks annotations.
    record.takenAt = current.annotation?.[ANNOTATION.takenAt] || takenAt;
    record.schemaVersion = current.annotation?.[ANNOTATION.schemaVersion] ?? options.schemaVersion;
    record.beforeVersion = current.annotation?.[ANNOTATION.beforeVersion] ?? options.beforeVersion;
    if (!record.lsn) progress?.(`Neon reported no LSN for '${name}'; the backup holds '${target.branchName}' as of ${takenAt}`);
    progress?.(`backup '${name}' (${record.id}) taken${record.lsn ? ` at LSN ${record.lsn}` : ""}`);
    return record;
}

/** The stack's backup branches, newest first. Branches of other stacks, and others, are left out. */
export async function listNeonBackups(target: NeonBackupTarget): Promise<BackupRecord[]> {
    const found = await searchBranches(target.api, target.projectId, `backup-${target.stack}-`);
    return found
        .map((f) => toRecord(target, f.branch, f.annotation))
        .filter((r): r is BackupRecord => r !== undefined)
        .sort((a, b) => (a.takenAt < b.takenAt ? 1 : a.takenAt > b.takenAt ? -1 : a.id.localeCompare(b.id)));
}

export interface NeonRestorePlan extends InPlaceRestore {
    /** What the stack's branch is restored from: a backup, or a branch an earlier restore preserved (an undo). */
    source: { id: string; name: string; backup?: BackupRecord };
    /** What will happen, one step a line, for printing before asking. */
    lines: string[];
}

/**
 * Finds the backup (a branch id or its exact name) and says what restoring it
 * would do. Reads only. Refuses a backup of another stack. A branch that an
 * earlier restore of this stack preserved (`<branch>-before-restore-…`) is
 * accepted too: restoring from it undoes that restore.
 */
export async function planNeonRestore(target: NeonBackupTarget, backupId: string, now: Date = new Date()): Promise<NeonRestorePlan> {
    const { api, projectId } = target;
    let found = /^br-[a-z0-9-]+$/.test(backupId) ? await getBranch(api, projectId, backupId) : undefined;
    if (!found) {
        const byName = (await searchBranches(api, projectId, backupId)).filter((b) => b.branch.name === backupId);
        if (byName.length > 1)
            throw new NeonBackupError(
                `Neon project ${projectId} has ${byName.length} branches named '${backupId}'; pass the branch id instead (npm run db:backups lists them).`,
            );
        found = byName[0];
    }
    if (!found) {
        throw new NeonBackupError(
            `No backup '${backupId}' in Neon project ${projectId}: it may have expired. 'npm run db:backups -- --stack ${target.stack}' lists the backups there are.`,
        );
    }
    const { branch, annotation } = found;
    if (branch.id === target.branchId)
        throw new NeonBackupError(`'${backupId}' is stack '${target.stack}'s own branch '${target.branchName}', not a backup of it.`);
    const backup = toRecord(target, branch, annotation);
    const undoPrefix = `${target.branchName}-before-restore-`;
    if (!backup && !branch.name.startsWith(undoPrefix)) {
        const other = /^backup-(.+)-\d{8}-\d{6}-/.exec(branch.name);
        const owner = annotation?.[ANNOTATION.stack] ?? other?.[1];
        throw new NeonBackupError(
            owner && owner !== target.stack
                ? `Branch '${branch.name}' (${branch.id}) is a backup of stack '${owner}', not of '${target.stack}': refusing to restore '${target.branchName}' from it.`
                : `Branch '${branch.name}' (${branch.id}) is not a backup of stack '${target.stack}' (backups are named 'backup-${target.stack}-…'): refusing to restore from it.`,
        );
    }
    const current = await getBranch(api, projectId, target.branchId);
    if (!current)
        throw new NeonBackupError(
            `Stack '${target.stack}'s branch '${target.branchName}' (${target.branchId}) is not in Neon project ${projectId}: run 'npm run up -- ${target.stack}' first.`,
        );
    const preservedName = `${target.branchName}-before-restore-${backupStamp(now)}`;
    const what = backup
        ? `backup '${branch.name}' (${branch.id}), taken ${backup.takenAt}${backup.schemaVersion ? ` at schema version ${backup.schemaVersion}` : ""}${backup.lsn ? `, LSN ${backup.lsn}` : ""}`
        : `'${branch.name}' (${branch.id}), the state an earlier restore preserved (this undoes that restore)`;
    const lines = [
        `  1. restore branch '${target.branchName}' (${target.branchId}) of Neon project ${projectId} from ${what}`,
        `  2. keep its current state as the new branch '${preservedName}' (Neon's restore with preserve_under_name)`,
        `  3. its compute restarts: open connections to '${target.branchName}' are dropped, the connection URL stays the same`,
        `  undo: restore from '${preservedName}' the same way (npm run db:restore -- --stack ${target.stack} --backup ${preservedName})`,
    ];
    if (current.branch.protected) {
        lines.push(
            `  note: '${target.branchName}' is a protected branch, and Neon may refuse to restore (reset) it; if it does, nothing has changed: ` +
                `lift the protection (npm run pulumi -- config set --path keel:database.neon.branch.protected false --stack ${target.stack}; npm run up -- ${target.stack}), restore, then protect it again`,
        );
    }
    return {
        projectId,
        target: { id: target.branchId, name: target.branchName },
        source: { id: branch.id, name: branch.name, ...(backup ? { backup } : {}) },
        preservedName,
        lines,
    };
}

export interface NeonRestoreResult {
    /** The branch holding the state before the restore. */
    preservedName: string;
    preservedBranchId?: string;
    /** How to undo the restore. */
    undo: string;
}

/** Carries out a plan: one restore call, its operations awaited. */
export async function executeNeonRestore(
    target: NeonBackupTarget,
    plan: NeonRestorePlan,
    progress?: (line: string) => void,
): Promise<NeonRestoreResult> {
    const { api } = target;
    if (plan.target.id !== target.branchId || plan.projectId !== target.projectId) {
        throw new NeonBackupError(
            `This restore plan is for branch ${plan.target.id} of project ${plan.projectId}, not for stack '${target.stack}'s branch ${target.branchId}.`,
        );
    }
    const preserved = await restoreInPlace(api, plan, waitOptions(target, progress), progress);
    const undo = `npm run db:restore -- --stack ${target.stack} --backup ${preserved?.id ?? plan.preservedName}`;
    progress?.(
        `'${plan.target.name}' restored from '${plan.source.name}'; the state before is branch '${plan.preservedName}'${preserved ? ` (${preserved.id})` : ""}. To undo: ${undo}`,
    );
    return { preservedName: plan.preservedName, ...(preserved ? { preservedBranchId: preserved.id } : {}), undo };
}

/** What the caller's comparison returns; the drill adds the backup. */
export type NeonDrillComparison = Omit<DrillReport, "backup">;

export interface NeonDrillOptions {
    /** The database and role to connect as on both branches (keel:database.neon databaseName, roleName). */
    databaseName: string;
    roleName: string;
    /** Compares the source with the restored copy (schema fingerprint, row counts, checksums). Gets direct URIs with passwords. */
    compare: (sourceUri: string, copyUri: string) => Promise<NeonDrillComparison>;
    schemaVersion: string;
    /** The drill's backup expires after this many days (default 1) if it is kept or its removal fails. */
    retentionDays?: number;
    /** Keep the drill's backup branch afterwards (default: remove it with the scratch branch). */
    keepBackup?: boolean;
    now?: Date;
    progress?: (line: string) => void;
}

/**
 * Takes a backup, restores it into a scratch branch with its own read-write
 * compute, and has compare() check it against the stack's branch. The
 * scratch branch (and, unless keepBackup, the drill's backup) is deleted
 * afterwards, also when anything failed; a removal that fails is reported in
 * the findings (both branches expire anyway).
 */
export async function neonDrill(target: NeonBackupTarget, options: NeonDrillOptions): Promise<DrillReport> {
    const { api, projectId } = target;
    const progress = options.progress;
    const wait = waitOptions(target, progress);
    const now = options.now ?? new Date();
    const backup = await takeNeonBackup(target, {
        beforeVersion: "",
        schemaVersion: options.schemaVersion,
        retentionDays: options.retentionDays ?? 1,
        now,
        progress,
        label: "drill",
    });
    const scratchName = `drill-${target.stack}-${backupStamp(now)}`;
    let scratchId: string | undefined;
    const cleanupProblems: string[] = [];
    const remove = async (id: string, name: string) => {
        try {
            await deleteBranch(api, projectId, id, wait);
            progress?.(`removed '${name}'`);
        } catch (err) {
            if (isNotFound(err)) return;
            const line = `could not remove branch '${name}' (${id}): ${(err as Error).message}; it expires by itself, or delete it in the Neon console`;
            progress?.(line);
            cleanupProblems.push(line);
        }
    };
    let comparison: NeonDrillComparison;
    try {
        progress?.(`restoring '${backup.location}' into the scratch branch '${scratchName}' with its own compute`);
        // Known as soon as it exists (even when the response was lost), so the finally removes it.
        const copyId = await createBranchWithCompute(
            api,
            projectId,
            { parentId: backup.id, name: scratchName, expiresAt: isoSeconds(Math.ceil(now.getTime() / 1000) * 1000 + 86_400_000) },
            wait,
            (id) => (scratchId = id),
        );
        const sourceUri = await directConnectionUri(api, projectId, target.branchId, options);
        const copyUri = await directConnectionUri(api, projectId, copyId, options);
        progress?.(`comparing '${target.branchName}' with '${scratchName}'`);
        comparison = await options.compare(sourceUri, copyUri);
    } finally {
        if (scratchId) await remove(scratchId, scratchName);
        if (!options.keepBackup) {
            if (scratchId === undefined || !cleanupProblems.length) await remove(backup.id, backup.location.slice(projectId.length + 1));
            else
                cleanupProblems.push(
                    `the drill's backup '${backup.location}' (${backup.id}) is kept until its scratch branch is gone; it expires ${backup.expiresAt ?? "never"}`,
                );
        }
    }
    return { ...comparison, backup, findings: [...comparison.findings, ...cleanupProblems] };
}
