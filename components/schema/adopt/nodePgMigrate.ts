/**
 * node-pg-migrate (9.x) with SQL migrations: every file of its directory (not
 * hidden) is a migration named by its file name without the extension, ordered
 * by the number it starts with (17 digits read as a UTC time, as it does) and
 * then by name. A `.sql` file runs its `-- Up Migration` part (the whole file
 * when it has no such comment), always inside a transaction: SQL files cannot
 * opt out. Its table, `pgmigrations (id, name, run_on)`, keeps a row per
 * applied migration and no checksum.
 */
import * as path from "path";
import type { Client } from "pg";
import { decodeSqlFile } from "../sql";
import { stripBom, ToolFile, ToolHistory, ToolLayout, ToolMigration, ToolRules } from "./model";

const marker = (direction: string) => new RegExp(`^\\s*--[\\s-]*${direction}\\s+migration`, "im");

/** The up part of a SQL migration, exactly as node-pg-migrate's SQL loader cuts it (src/sqlMigration.ts). */
export function nodePgMigrateUpSql(content: string): string {
    const upStart = content.search(marker("up"));
    const downStart = content.search(marker("down"));
    if (upStart < 0) return content;
    return content.slice(upStart, downStart < upStart ? undefined : downStart);
}

/** The number a file name starts with, as node-pg-migrate reads it (utils/fileNameUtils.ts); undefined when it has none. */
export function numericPrefix(fileName: string): number | undefined {
    const prefix = /^(\d+)/.exec(fileName)?.[1];
    if (!prefix) return undefined;
    if (prefix.length === 17) {
        const iso = `${prefix.slice(0, 4)}-${prefix.slice(4, 6)}-${prefix.slice(6, 8)}T${prefix.slice(8, 10)}:${prefix.slice(10, 12)}:${prefix.slice(12, 14)}.${prefix.slice(14, 17)}Z`;
        return new Date(iso).valueOf();
    }
    return Number(prefix);
}

/** node-pg-migrate's order of two file names (utils/comparators.ts). */
export function compareNodePgMigrateFiles(a: string, b: string): number {
    const byNumber = (numericPrefix(a) ?? NaN) - (numericPrefix(b) ?? NaN);
    if (byNumber) return byNumber;
    return a.localeCompare(b, undefined, { usage: "sort", numeric: true, sensitivity: "variant", ignorePunctuation: true });
}

export function readNodePgMigrateLayout(files: ToolFile[]): ToolLayout {
    const problems: string[] = [];
    const notes: string[] = [];
    const top = files.filter((f) => !f.path.includes("/"));
    const candidates: ToolFile[] = [];
    for (const f of top) {
        if (!f.path.toLowerCase().endsWith(".sql")) {
            problems.push(
                `${f.path}: node-pg-migrate runs every file of its directory, and this one is not SQL: adopt converts SQL migrations only. ` +
                    `Write it as a .sql file with the same name (its up part) or move it out of the directory.`,
            );
        } else if (numericPrefix(f.path) === undefined || Number.isNaN(numericPrefix(f.path))) {
            problems.push(`${f.path}: its name does not start with a number, which node-pg-migrate needs to order it.`);
        } else candidates.push(f);
    }
    candidates.sort((a, b) => compareNodePgMigrateFiles(a.path, b.path));
    const migrations: ToolMigration[] = [];
    for (const f of candidates) {
        let text: string;
        try {
            text = stripBom(decodeSqlFile(f.bytes, f.path));
        } catch (err: any) {
            problems.push(err.message);
            continue;
        }
        const id = path.basename(f.path, path.extname(f.path));
        const [, digits, rest] = /^(\d+)(.*)$/.exec(id)!;
        migrations.push({
            id,
            source: f.path,
            number: digits,
            name: rest.replace(/^[_-]+/, ""),
            sql: nodePgMigrateUpSql(text),
            noTransaction: false,
        });
    }
    for (const f of files.filter((f) => f.path.includes("/")))
        notes.push(`${f.path}: in a subdirectory, which node-pg-migrate does not read; left out`);
    return { migrations, problems, notes };
}

export const NODE_PG_MIGRATE_RULES: ToolRules = {
    tool: "node-pg-migrate",
    title: "node-pg-migrate",
    settle: () => "settle it with node-pg-migrate",
};

/** Every row is an applied migration: node-pg-migrate records a migration with its own statements, or not at all. */
export function nodePgMigrateHistory(table: string, rows: { name: string }[]): ToolHistory {
    return { table, entries: rows.map((r) => ({ id: r.name, status: "applied" as const })), notes: [] };
}

export async function readNodePgMigrateHistory(client: Client, table: string, ref: string): Promise<ToolHistory> {
    const res = await client.query(`SELECT name FROM ${ref} ORDER BY run_on, id`);
    return nodePgMigrateHistory(table, res.rows);
}
