/**
 * dbmate (2.x): `<version>_<name>.sql` files, the version being the name's
 * leading digits, run in byte order of the file names; each file holds one or
 * more `-- migrate:up [transaction:false]` … `-- migrate:down` sections, and
 * dbmate runs the up sections. Its table, `schema_migrations (version)`,
 * keeps a row per applied version and no checksum.
 */
import type { Client } from "pg";
import { decodeSqlFile } from "../sql";
import { compareBytes, stripBom, ToolFile, ToolHistory, ToolLayout, ToolMigration, ToolRules } from "./model";

/** dbmate's file pattern: leading digits, anything, `.sql`. */
const FILE = /^(\d+)(.*)\.sql$/;
// dbmate's own expressions (pkg/dbmate/migration.go): a directive starts a line; its options follow on the line.
const UP = /^--\s*migrate:up(\s*$|\s+\S+)/gm;
const DOWN = /^--\s*migrate:down(\s*$|\s+\S+)/m;

export interface DbmateSection {
    /** The up block as dbmate sends it: from its `-- migrate:up` line to the `-- migrate:down` line. */
    up: string;
    transaction: boolean;
    /** The directive line, for messages. */
    directive: string;
}

/** dbmate's `key:value` options on a directive line; `transaction` is false only for `transaction:false`. */
function transactionOption(block: string): boolean {
    const first = block
        .split("\n", 1)[0]
        .replace(/^--\s*migrate:(up|down)/, "")
        .trim();
    if (!first) return true;
    const options = new Map<string, string>();
    for (const pair of first.split(/\s+/)) {
        const kv = pair.split(":");
        if (kv.length === 2) options.set(kv[0], kv[1]);
    }
    return options.get("transaction") !== "false";
}

/**
 * Splits a dbmate file into its sections as dbmate does, or says why dbmate
 * would refuse it (its own messages).
 */
export function dbmateSections(text: string): { sections: DbmateSection[] } | { error: string } {
    const ups = [...text.matchAll(UP)].map((m) => m.index!);
    if (!ups.length) return { error: "dbmate requires each migration to define an up block with '-- migrate:up'" };
    for (const line of text.slice(0, ups[0]).split("\n")) {
        if (line.trim() !== "" && !/^\s*--/.test(line))
            return { error: "dbmate does not support statements preceding the '-- migrate:up' block" };
    }
    const sections: DbmateSection[] = [];
    for (const [i, start] of ups.entries()) {
        const section = text.slice(start, i + 1 < ups.length ? ups[i + 1] : text.length);
        const downs = [...section.matchAll(new RegExp(DOWN.source, "gm"))];
        if (downs.length > 1) return { error: "dbmate requires every '-- migrate:down' to be preceded by a '-- migrate:up'" };
        if (!downs.length) return { error: "dbmate requires each migration to define a down block with '-- migrate:down'" };
        const up = section.slice(0, downs[0].index!);
        sections.push({ up, transaction: transactionOption(up), directive: up.split("\n", 1)[0].trim() });
    }
    return { sections };
}

/**
 * The SQL Keel keeps for a file's up sections. One section, or sections that
 * agree on the transaction, are kept as they are; where they disagree, the
 * file runs without a transaction and each transactional section is wrapped
 * in its own BEGIN … COMMIT, as dbmate runs them. (Only a file dbmate has not
 * applied gets this far with several sections: see readDbmateLayout.)
 */
export function dbmateUpSql(sections: DbmateSection[]): { sql: string; noTransaction: boolean; mark?: string } {
    const marked = sections.filter((s) => !s.transaction);
    if (!marked.length) return { sql: sections.map((s) => s.up).join(""), noTransaction: false };
    const mark = marked[0].directive;
    if (marked.length === sections.length) return { sql: sections.map((s) => s.up).join(""), noTransaction: true, mark };
    const sql = sections.map((s) => (s.transaction ? `BEGIN;\n${s.up}${s.up.endsWith("\n") ? "" : "\n"}COMMIT;\n` : s.up)).join("");
    return { sql, noTransaction: true, mark };
}

/** Reads dbmate's directory (files directly in it; dbmate does not descend). */
export function readDbmateLayout(files: ToolFile[]): ToolLayout {
    const problems: string[] = [];
    const migrations: ToolMigration[] = [];
    const byVersion = new Map<string, string>();
    const candidates = files.filter((f) => !f.path.includes("/") && FILE.test(f.path)).sort((a, b) => compareBytes(a.path, b.path));
    for (const f of candidates) {
        const [, version, rest] = FILE.exec(f.path)!;
        const other = byVersion.get(version);
        if (other) {
            problems.push(
                `${f.path}: version ${version} is also ${other}'s; dbmate records a version once, so one of them never ran. Remove or renumber it.`,
            );
            continue;
        }
        byVersion.set(version, f.path);
        let text: string;
        try {
            text = stripBom(decodeSqlFile(f.bytes, f.path));
        } catch (err: any) {
            problems.push(err.message);
            continue;
        }
        const parsed = dbmateSections(text);
        if ("error" in parsed) {
            problems.push(`${f.path}: ${parsed.error}.`);
            continue;
        }
        const up = dbmateUpSql(parsed.sections);
        const sections = parsed.sections.length;
        migrations.push({
            // dbmate 2.36 records the version after each section: on PostgreSQL the second record fails on the first's key.
            ...(sections > 1
                ? {
                      appliedProblem:
                          `it has ${sections} '-- migrate:up' sections, and dbmate records the version after each: on PostgreSQL the second ` +
                          `record fails on the first's (duplicate key), so the second section either rolled back (in a transaction) or ran unrecorded ` +
                          `(transaction:false), and dbmate stopped there. Make the file hold what the database has, then adopt again.`,
                  }
                : {}),
            id: version,
            source: f.path,
            number: version,
            name: rest.replace(/^[_-]+/, ""),
            sql: up.sql,
            noTransaction: up.noTransaction,
            ...(up.mark ? { mark: up.mark } : {}),
        });
    }
    const notes = files
        .filter((f) => !f.path.includes("/") && !FILE.test(f.path))
        .map((f) => `${f.path}: not a dbmate migration (dbmate reads <version>_<name>.sql files), left out`);
    return { migrations, problems, notes };
}

export const DBMATE_RULES: ToolRules = {
    tool: "dbmate",
    title: "dbmate",
    settle: () => "settle it with dbmate",
};

/** dbmate's rows: every version it recorded is applied (it records none that failed). */
export function dbmateHistory(table: string, rows: { version: string }[]): ToolHistory {
    return {
        table,
        entries: rows.map((r) => ({ id: String(r.version), label: `version ${r.version}`, status: "applied" as const })),
        notes: [],
    };
}

export async function readDbmateHistory(client: Client, table: string, ref: string): Promise<ToolHistory> {
    const res = await client.query(`SELECT version::text AS version FROM ${ref} ORDER BY version`);
    return dbmateHistory(table, res.rows);
}
