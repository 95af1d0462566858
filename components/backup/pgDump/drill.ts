/** The backup drill: dump, restore into a scratch database, compare with the source as the dump saw it. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HISTORY_TABLE } from "../../schema/historyTable";
import type { BackupRecord, DrillReport } from "../types";
import { connect, databaseName, quoteIdent, serverVersionOf, urlForDatabase } from "./connection";
import { dropDatabase } from "../../postgres/dropDatabase";
import { adminClient, createDatabaseLike, databaseFacts } from "./databases";
import { stamp, takeDumpWithStats } from "./dump";
import { BackupProgress, formatBytes } from "./process";
import { pgRestoreInto } from "./restore";
import { DumpStats, statsOf } from "./stats";
import { findPgTools } from "./tools";

export interface DrillOptions {
    stack: string;
    progress?: BackupProgress;
    progressIntervalMs?: number;
    historySchema?: string;
    env?: Record<string, string | undefined>;
    /** Tests: change the copy after the restore (to see the drill fail). */
    afterRestore?: (copyUrl: string) => Promise<void>;
}

/**
 * Takes a backup into a temporary directory, restores it into a scratch
 * database, and compares schema fingerprint, per-table row counts and data
 * checksums, and sequence values with the source as the dump saw it (the same
 * snapshot). Removes the scratch database and the file in any case.
 */
export async function drill(url: string, o: DrillOptions): Promise<DrillReport> {
    const progress = o.progress ?? (() => undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-drill-"));
    fs.chmodSync(dir, 0o700);
    const historySchema = o.historySchema ?? "public";
    const admin = await adminClient(url, "keel-drill");
    const scratch = `${databaseName(url)}_keel_drill_${stamp(new Date()).slice(0, 15).toLowerCase()}`.slice(0, 63);
    let created = false;
    try {
        const version = await appliedSchemaVersion(url, historySchema);
        const { record, stats: source } = await takeDumpWithStats(url, {
            dir,
            stack: o.stack,
            beforeVersion: "",
            schemaVersion: version,
            progress,
            progressIntervalMs: o.progressIntervalMs,
            historySchema,
            env: o.env,
            checksums: true,
        });
        const facts = await databaseFacts(admin, databaseName(url));
        const server = await serverVersionOf(admin);
        const tools = findPgTools(server.text, server.major, o.env ?? process.env);
        await createDatabaseLike(admin, scratch, facts!);
        created = true;
        progress(`restoring into the scratch database '${scratch}'`);
        await pgRestoreInto(url, scratch, record.location, tools, progress, o.progressIntervalMs ?? 5000);
        const copyUrl = urlForDatabase(url, scratch);
        if (o.afterRestore) await o.afterRestore(copyUrl);
        const copy = await statsOf(copyUrl, historySchema, true);
        return drillReport(record, source, copy);
    } finally {
        if (created)
            await dropDatabase(admin, scratch).catch((e: Error) => progress(`could not drop '${scratch}': ${e.message}; drop it by hand`));
        await admin.end().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The newest applied (or baseline) version in the database's history; "" without a history. */
export async function appliedSchemaVersion(url: string, historySchema: string): Promise<string> {
    const client = await connect(url, "keel-drill");
    try {
        const ref = `${quoteIdent(historySchema)}.${quoteIdent(HISTORY_TABLE)}`;
        const exists = (await client.query("SELECT to_regclass($1) IS NOT NULL AS p", [ref])).rows[0].p;
        if (!exists) return "";
        const r = await client.query(`SELECT max(version)::text AS v FROM ${ref} WHERE status IN ('applied', 'baseline')`);
        return r.rows[0].v ?? "";
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Compares source and copy; pure. */
export function drillReport(backup: BackupRecord, source: DumpStats, copy: DumpStats): DrillReport {
    const findings: string[] = [];
    if (source.fingerprint !== copy.fingerprint)
        findings.push(`schema fingerprint differs: source ${source.fingerprint.slice(0, 12)}…, copy ${copy.fingerprint.slice(0, 12)}…`);
    const names = [...new Set([...Object.keys(source.tables), ...Object.keys(copy.tables)])].sort();
    const tables: DrillReport["tables"] = names.map((table) => {
        const s = source.tables[table];
        const c = copy.tables[table];
        const row = {
            table,
            sourceRows: s?.rows ?? -1,
            copyRows: c?.rows ?? -1,
            sourceChecksum: s?.checksum ?? "",
            copyChecksum: c?.checksum ?? "",
            matches: !!s && !!c && s.rows === c.rows && s.checksum === c.checksum,
        };
        if (!s) findings.push(`table ${table} is only in the copy`);
        else if (!c) findings.push(`table ${table} is missing from the copy`);
        else if (s.rows !== c.rows) findings.push(`table ${table}: ${s.rows} rows in the source, ${c.rows} in the copy`);
        else if (s.checksum !== c.checksum) findings.push(`table ${table}: same ${s.rows} rows, but the data checksum differs`);
        return row;
    });
    for (const seq of [...new Set([...Object.keys(source.sequences), ...Object.keys(copy.sequences)])].sort()) {
        if (source.sequences[seq] !== copy.sequences[seq])
            findings.push(
                `sequence ${seq}: ${source.sequences[seq] ?? "missing"} in the source, ${copy.sequences[seq] ?? "missing"} in the copy`,
            );
    }
    if (!source.consistent)
        findings.push("note: the server could not export a snapshot, so the source was read beside pg_dump rather than in its snapshot");
    const passed = findings.every((f) => f.startsWith("note:"));
    if (passed)
        findings.unshift(
            `the copy matches: schema fingerprint, ${tables.length} tables (rows and data checksums), ${Object.keys(source.sequences).length} sequences`,
        );
    return { passed, backup, fingerprint: { source: source.fingerprint, copy: copy.fingerprint }, tables, findings };
}

/**
 * Compares two databases nobody writes to (a Neon backup branch and its restored
 * copy): what neonDrill's `compare` returns. Each side is read in one transaction.
 */
export async function compareDatabases(sourceUrl: string, copyUrl: string, historySchema = "public"): Promise<Omit<DrillReport, "backup">> {
    const [source, copy] = await Promise.all([statsOf(sourceUrl, historySchema, true), statsOf(copyUrl, historySchema, true)]);
    const { backup: _unused, ...rest } = drillReport(
        { id: "", kind: "neon-branch", stack: "", takenAt: "", schemaVersion: "", beforeVersion: "", location: "" },
        source,
        copy,
    );
    return rest;
}

/** The drill's report as text lines. */
export function formatDrillReport(r: DrillReport): string[] {
    const lines = [
        `drill ${r.passed ? "PASSED" : "FAILED"} (backup ${r.backup.id}, ${formatBytes(r.backup.sizeBytes ?? 0)}, schema version ${r.backup.schemaVersion || "none"})`,
    ];
    lines.push(
        `  schema fingerprint: source ${r.fingerprint.source.slice(0, 16)}…, copy ${r.fingerprint.copy.slice(0, 16)}… ${r.fingerprint.source === r.fingerprint.copy ? "ok" : "DIFFERS"}`,
    );
    for (const t of r.tables)
        lines.push(
            `  ${t.matches ? "ok  " : "FAIL"} ${t.table}: ${t.sourceRows} / ${t.copyRows} rows${t.matches ? "" : `, checksum ${t.sourceChecksum} / ${t.copyChecksum}`}`,
        );
    for (const f of r.findings) lines.push(`  - ${f}`);
    return lines;
}
