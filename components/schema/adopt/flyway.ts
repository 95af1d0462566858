/**
 * Flyway with its default naming: versioned SQL migrations `V<version>__<description>.sql`
 * anywhere under its location, ordered by version (dot- or underscore-separated
 * numbers, `1.10` after `1.9`, `1.0` equal to `1`); a script setting file
 * `<script>.sql.conf` may say `executeInTransaction=false`, and Flyway runs a
 * script outside a transaction by itself when it holds a statement PostgreSQL
 * refuses in one (CREATE INDEX CONCURRENTLY). Its table, `flyway_schema_history`,
 * keeps a row per run: installed_rank, version, description, type, script,
 * checksum (CRC32 of the file's lines, see flywayChecksum) and success.
 */
import { crc32 } from "zlib";
import type { Client } from "pg";
import { decodeSqlFile } from "../sql";
import { stripBom, ToolFile, ToolHistory, ToolHistoryEntry, ToolLayout, ToolMigration, ToolRules } from "./model";

/**
 * Flyway's checksum of a script (ChecksumCalculator): CRC32 over the UTF-8
 * bytes of each line without its line end (\n, \r\n or \r, as Java's
 * readLine splits), a byte order mark dropped from the first line, as a
 * signed 32-bit integer. Line ends do not count, so neither does their kind.
 */
export function flywayChecksum(text: string): number {
    const lines = (text.startsWith("\uFEFF") ? text.slice(1) : text).split(/\r\n|\r|\n/);
    let crc = 0;
    for (const line of lines) if (line) crc = crc32(Buffer.from(line, "utf8"), crc);
    return crc | 0;
}

/** A Flyway version's parts (`1_2` is `1.2`; trailing zero parts dropped, so `1.0` is `1`), or undefined when it is not one. */
export function flywayVersionParts(raw: string): bigint[] | undefined {
    const normalized = raw.replace(/_/g, ".");
    const parts = normalized.split(/\.(?=\d)/);
    if (!parts.every((p) => /^\d+$/.test(p))) return undefined;
    const values = parts.map((p) => BigInt(p));
    while (values.length > 1 && values[values.length - 1] === 0n) values.pop();
    return values;
}

/** Flyway's order of two versions (MigrationVersion.compareTo): part by part, a missing part being 0. */
export function compareFlywayVersions(a: string, b: string): number {
    const pa = flywayVersionParts(a) ?? [];
    const pb = flywayVersionParts(b) ?? [];
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const x = pa[i] ?? 0n;
        const y = pb[i] ?? 0n;
        if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
}

/** The key a version is matched by: its parts joined with dots (`1_0_2` and `1.0.2` alike). */
export function flywayVersionKey(raw: string): string | undefined {
    return flywayVersionParts(raw)?.join(".");
}

/** A script setting file (Java properties): its keys and values. */
export function parseScriptConfig(text: string): Map<string, string> {
    const settings = new Map<string, string>();
    for (const raw of text.split(/\r\n|\r|\n/)) {
        const line = raw.trim();
        if (!line || line.startsWith("#") || line.startsWith("!")) continue;
        const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
        if (m) settings.set(m[1], m[2].trim());
    }
    return settings;
}

const CALLBACK = /^(before|after)[A-Za-z]*(__.*)?\.sql$/i;

export function readFlywayLayout(files: ToolFile[]): ToolLayout {
    const problems: string[] = [];
    const notes: string[] = [];
    const configs = new Map(files.filter((f) => f.path.endsWith(".sql.conf")).map((f) => [f.path.slice(0, -".conf".length), f]));
    const found: { migration: ToolMigration; parts: bigint[] }[] = [];
    const byKey = new Map<string, string>();
    for (const f of files) {
        const base = f.path.split("/").pop()!;
        if (f.path.endsWith(".sql.conf")) continue;
        if (!/\.sql$/i.test(base)) {
            notes.push(`${f.path}: not a Flyway SQL migration, left out`);
            continue;
        }
        if (base.startsWith("R__")) {
            notes.push(
                `${f.path}: a repeatable migration; Keel has none, so it is left out (what it made stays; change it later with a new migration)`,
            );
            continue;
        }
        if (CALLBACK.test(base)) {
            notes.push(`${f.path}: a Flyway callback; Keel runs none, so it is left out`);
            continue;
        }
        const separator = base.indexOf("__");
        if (!base.startsWith("V") || separator < 2) {
            if (/^[UB]\d/.test(base)) notes.push(`${f.path}: an undo or baseline script (Flyway Teams); Keel has none, left out`);
            else notes.push(`${f.path}: not named V<version>__<description>.sql, left out (Flyway ignores it too)`);
            continue;
        }
        const rawVersion = base.slice(1, separator);
        const description = base.slice(separator + 2, base.length - ".sql".length);
        const parts = flywayVersionParts(rawVersion);
        if (!parts) {
            problems.push(`${f.path}: '${rawVersion}' is not a Flyway version (numbers separated by dots or underscores).`);
            continue;
        }
        const key = parts.join(".");
        const other = byKey.get(key);
        if (other) {
            problems.push(`${f.path}: version ${key} is also ${other}'s (Flyway refuses that too); remove one of them.`);
            continue;
        }
        byKey.set(key, f.path);
        let text: string;
        try {
            text = decodeSqlFile(f.bytes, f.path);
        } catch (err: any) {
            problems.push(err.message);
            continue;
        }
        const raw = f.bytes.toString("utf8");
        const conf = configs.get(f.path);
        const settings = conf ? parseScriptConfig(conf.bytes.toString("utf8")) : new Map<string, string>();
        const unknown = [...settings.keys()].filter((k) => !["executeInTransaction", "placeholderReplacement", "encoding"].includes(k));
        if (unknown.length)
            problems.push(
                `${conf!.path}: ${unknown.join(", ")}: script settings Keel has no equivalent for; remove them or adopt by hand.`,
            );
        const encoding = settings.get("encoding");
        if (encoding && !/^utf-?8$/i.test(encoding))
            problems.push(`${conf!.path}: encoding=${encoding}: Keel reads UTF-8 only; convert the script to UTF-8.`);
        if (settings.get("placeholderReplacement")?.toLowerCase() !== "false") {
            const placeholder = /\$\{[^}\r\n]*\}/.exec(text);
            if (placeholder) {
                problems.push(
                    `${f.path}: holds the Flyway placeholder ${placeholder[0]}, so the SQL Flyway ran is not the file's; ` +
                        `write its value into the file (and set placeholderReplacement=false in ${f.path}.conf if Flyway still runs it), then adopt again.`,
                );
                continue;
            }
        }
        const noTransaction = settings.get("executeInTransaction")?.toLowerCase() === "false";
        const number = parts.length === 1 ? (/^\d+$/.test(rawVersion) ? rawVersion : parts[0].toString()) : undefined;
        found.push({
            parts,
            migration: {
                id: key,
                source: f.path,
                ...(number !== undefined ? { number } : {}),
                name: description,
                sql: stripBom(text),
                noTransaction,
                ...(noTransaction ? { mark: `executeInTransaction=false in ${conf!.path}` } : {}),
                checksum: String(flywayChecksum(raw)),
            },
        });
    }
    const migrations = found.sort((a, b) => compareFlywayVersions(a.migration.id, b.migration.id)).map((x) => x.migration);
    return { migrations, problems, notes };
}

export const FLYWAY_RULES: ToolRules = {
    tool: "flyway",
    title: "Flyway",
    checksumMatches: (m, recorded) => m.checksum === recorded,
    compareIds: compareFlywayVersions,
    settle: (e) =>
        e.status === "failed"
            ? `undo what it left behind and run 'flyway repair' (it removes the failed row), then 'flyway migrate'`
            : `run 'flyway migrate' to apply it again (or remove its file if it is abandoned)`,
};

export interface FlywayRow {
    installed_rank: number;
    version: string | null;
    description: string;
    type: string;
    script: string;
    checksum: number | null;
    success: boolean;
}

/**
 * One entry per version from the rows in installed_rank order, the last row
 * of a version deciding (Flyway's view): success false is failed, an UNDO row
 * rolled back, a DELETE row (flyway repair of a missing migration) removes it;
 * the BASELINE row sets the baseline; the schema-creation row is noted; a
 * repeatable row is left out (noted) unless it failed; a non-SQL (Java)
 * migration refuses, as Keel runs SQL files only.
 */
export function flywayHistory(table: string, rows: FlywayRow[]): ToolHistory {
    const latest = new Map<string, ToolHistoryEntry>();
    const problems: string[] = [];
    const notes: string[] = [];
    let baseline: string | undefined;
    for (const r of [...rows].sort((a, b) => a.installed_rank - b.installed_rank)) {
        const type = r.type.toUpperCase();
        if (type === "SCHEMA") {
            notes.push(`${table}: rank ${r.installed_rank} records that Flyway created schema ${r.script}; nothing to adopt`);
            continue;
        }
        if (r.version === null) {
            if (!r.success)
                latest.set(`R:${r.script}`, {
                    id: r.script,
                    file: r.script,
                    status: "failed",
                    detail: `a repeatable migration, rank ${r.installed_rank}`,
                });
            else latest.delete(`R:${r.script}`);
            continue;
        }
        const key = flywayVersionKey(r.version) ?? r.version;
        if (type === "BASELINE") {
            baseline = key;
            continue;
        }
        if (type === "DELETE") {
            latest.delete(key);
            continue;
        }
        if (type.startsWith("UNDO")) {
            latest.set(key, {
                id: key,
                label: `version ${key}`,
                status: "rolled-back",
                detail: `undone at rank ${r.installed_rank} by ${r.script}`,
            });
            continue;
        }
        if (!r.success) {
            latest.set(key, {
                id: key,
                label: `version ${key} (${r.script})`,
                file: r.script,
                status: "failed",
                detail: `rank ${r.installed_rank}`,
            });
            continue;
        }
        if (type !== "SQL") {
            problems.push(
                `version ${key} (${r.description}) is a ${r.type} migration (${r.script}): Keel runs SQL files only; ` +
                    `write what it did as a V${r.version}__… SQL file that Flyway has recorded, or adopt by hand.`,
            );
            latest.delete(key);
            continue;
        }
        latest.set(key, {
            id: key,
            label: `version ${key} (${r.script})`,
            file: r.script,
            status: "applied",
            ...(r.checksum !== null ? { checksum: String(r.checksum) } : {}),
        });
    }
    return { table, entries: [...latest.values()], ...(baseline !== undefined ? { baseline } : {}), notes, problems };
}

export async function readFlywayHistory(client: Client, table: string, ref: string): Promise<ToolHistory> {
    const res = await client.query(
        `SELECT installed_rank, version, description, type, script, checksum, success FROM ${ref} ORDER BY installed_rank`,
    );
    return flywayHistory(table, res.rows);
}
