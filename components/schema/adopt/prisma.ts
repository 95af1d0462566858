/**
 * Prisma Migrate: a directory per migration, `<timestamp>_<name>/migration.sql`,
 * named by the directory and run in byte order of the names, each script as
 * a whole (PostgreSQL runs a script of several statements as one implicit
 * transaction; Prisma has no mark to run one outside it). Its table,
 * `_prisma_migrations`, keeps a row per attempt: checksum (sha256 hex of
 * migration.sql), started_at, finished_at (set when it succeeded),
 * rolled_back_at (set by `prisma migrate resolve --rolled-back`) and logs.
 */
import { createHash } from "crypto";
import type { Client } from "pg";
import { decodeSqlFile } from "../sql";
import { compareBytes, stripBom, ToolFile, ToolHistory, ToolHistoryEntry, ToolLayout, ToolMigration, ToolRules } from "./model";

function sha256(text: string | Buffer): Buffer {
    return createHash("sha256").update(text).digest();
}

/**
 * Whether migration.sql matches a recorded checksum as Prisma decides it
 * (schema-engine's checksum.rs): the script as it is, with its CRLFs as LFs,
 * or with its LFs as CRLFs (git may have changed the line ends), written as
 * zero-padded hex, or, for checksums an old Prisma wrote, as unpadded hex.
 */
export function prismaChecksumMatches(script: string, recorded: string): boolean {
    const candidates = [script, script.replace(/\r\n/g, "\n"), script.replace(/\n/g, "\r\n")].map(sha256);
    const unpadded = recorded.length !== 0 && recorded.length !== 64;
    return candidates.some((digest) => (unpadded ? [...digest].map((b) => b.toString(16)).join("") : digest.toString("hex")) === recorded);
}

/** The checksum Prisma records for a script: sha256 hex of its text. */
export function prismaChecksum(script: string | Buffer): string {
    return sha256(script).toString("hex");
}

export function readPrismaLayout(files: ToolFile[]): ToolLayout {
    const problems: string[] = [];
    const notes: string[] = [];
    const dirs = new Map<string, ToolFile | undefined>();
    for (const f of files) {
        const parts = f.path.split("/");
        if (parts.length === 1) {
            if (f.path !== "migration_lock.toml") notes.push(`${f.path}: not in a migration directory, left out`);
            continue;
        }
        if (!dirs.has(parts[0])) dirs.set(parts[0], undefined);
        if (parts.length === 2 && parts[1] === "migration.sql") dirs.set(parts[0], f);
    }
    const migrations: ToolMigration[] = [];
    for (const dir of [...dirs.keys()].sort(compareBytes)) {
        const f = dirs.get(dir);
        if (!f) {
            problems.push(
                `${dir}/: a migration directory without migration.sql (Prisma refuses it too); add the script or remove the directory.`,
            );
            continue;
        }
        let text: string;
        try {
            text = decodeSqlFile(f.bytes, f.path);
        } catch (err: any) {
            problems.push(err.message);
            continue;
        }
        const m = /^(\d+)(.*)$/.exec(dir);
        // Prisma hashes the script's text as it reads it: a byte order mark included.
        const script = f.bytes.toString("utf8");
        migrations.push({
            id: dir,
            source: f.path,
            ...(m ? { number: m[1] } : {}),
            name: (m ? m[2] : dir).replace(/^[_-]+/, ""),
            sql: stripBom(text),
            noTransaction: false,
            checksum: prismaChecksum(script),
            checkedText: script,
        });
    }
    return { migrations, problems, notes };
}

export const PRISMA_RULES: ToolRules = {
    tool: "prisma",
    title: "Prisma",
    checksumMatches: (m, recorded) => prismaChecksumMatches(m.checkedText ?? m.sql, recorded),
    settle: (e) =>
        e.status === "failed"
            ? `undo what it did and run 'npx prisma migrate resolve --rolled-back ${e.id}' then 'npx prisma migrate deploy', ` +
              `or finish it by hand and run 'npx prisma migrate resolve --applied ${e.id}'`
            : `run 'npx prisma migrate deploy' to apply it again (or remove its directory if it is abandoned)`,
};

export interface PrismaRow {
    id: string;
    checksum: string;
    finished_at: Date | null;
    migration_name: string;
    logs: string | null;
    rolled_back_at: Date | null;
    started_at: Date;
    applied_steps_count: number;
}

/**
 * One entry per migration_name from its rows, as Prisma reads them: a row that
 * neither finished nor was rolled back is a failed (or interrupted) migration,
 * which stops `prisma migrate deploy`; else a finished row that was not rolled
 * back is the applied one (the newest, when it was applied again after a
 * rollback); else every attempt was rolled back.
 */
export function prismaHistory(table: string, rows: PrismaRow[]): ToolHistory {
    const byName = new Map<string, PrismaRow[]>();
    for (const r of rows) byName.set(r.migration_name, [...(byName.get(r.migration_name) ?? []), r]);
    const entries: ToolHistoryEntry[] = [];
    for (const [name, list] of byName) {
        const newest = (xs: PrismaRow[]) => xs.reduce((a, b) => (b.started_at.getTime() >= a.started_at.getTime() ? b : a));
        const failed = list.filter((r) => !r.finished_at && !r.rolled_back_at);
        const applied = list.filter((r) => r.finished_at && !r.rolled_back_at);
        if (failed.length) {
            const row = newest(failed);
            const log = row.logs?.trim().split("\n")[0];
            entries.push({
                id: name,
                status: "failed",
                detail: `started ${row.started_at.toISOString()}, never finished${log ? `: ${log}` : ""}`,
            });
        } else if (applied.length) {
            entries.push({ id: name, status: "applied", checksum: newest(applied).checksum });
        } else {
            entries.push({ id: name, status: "rolled-back", detail: `rolled back ${newest(list).rolled_back_at!.toISOString()}` });
        }
    }
    return { table, entries, notes: [] };
}

export async function readPrismaHistory(client: Client, table: string, ref: string): Promise<ToolHistory> {
    const res = await client.query(
        `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count FROM ${ref} ORDER BY started_at, id`,
    );
    return prismaHistory(table, res.rows);
}
