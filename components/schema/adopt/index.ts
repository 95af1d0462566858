/**
 * Adopting a history another tool kept (Prisma, dbmate, node-pg-migrate,
 * Flyway): reading the tool's migrations directory and its history table,
 * refusing what cannot be carried over, and planning Keel's files and
 * keel_schema_history rows. One file per tool (its layout, its table, its
 * checksum); plan.ts holds the pure steps they share; writing the plan is
 * schema:adopt's (scripts/schemaAdopt.ts, runner.ts's recordAdoption).
 */
import * as fs from "fs";
import * as path from "path";
import type { Client } from "pg";
import { quoteIdent } from "../../postgres/connection";
import { migrationSource, parseMigration } from "../migrationSet";
import { HistoryRow, migrationPlan, PlanOptions } from "../plan";
import { analyzeSql } from "../sql";
import { DBMATE_RULES, readDbmateHistory, readDbmateLayout } from "./dbmate";
import { FLYWAY_RULES, readFlywayHistory, readFlywayLayout } from "./flyway";
import type { ToolFile, ToolHistory, ToolLayout, ToolName, ToolRules } from "./model";
import { NODE_PG_MIGRATE_RULES, readNodePgMigrateHistory, readNodePgMigrateLayout } from "./nodePgMigrate";
import { adoptedFiles, AdoptedFile, compareWithHistory, historyRowsFor, namesProblems, SqlFacts } from "./plan";
import { PRISMA_RULES, readPrismaHistory, readPrismaLayout } from "./prisma";

export type { AdoptedFile } from "./plan";
export type { ToolFile, ToolHistory, ToolLayout, ToolMigration, ToolName } from "./model";

export interface Tool {
    rules: ToolRules;
    /** Where the tool keeps its migrations by default, relative to the project. */
    defaultDir: string;
    /** Its history table's default name (found through the search_path). */
    defaultTable: string;
    /** Pure: the directory's files into the tool's migrations, in its order. */
    readLayout(files: ToolFile[]): ToolLayout;
    /** Reads the history table (`ref` quoted and qualified; `table` as messages show it). */
    readHistory(client: Client, table: string, ref: string): Promise<ToolHistory>;
}

export const TOOLS: Record<ToolName, Tool> = {
    prisma: {
        rules: PRISMA_RULES,
        defaultDir: "prisma/migrations",
        defaultTable: "_prisma_migrations",
        readLayout: readPrismaLayout,
        readHistory: readPrismaHistory,
    },
    dbmate: {
        rules: DBMATE_RULES,
        defaultDir: "db/migrations",
        defaultTable: "schema_migrations",
        readLayout: readDbmateLayout,
        readHistory: readDbmateHistory,
    },
    "node-pg-migrate": {
        rules: NODE_PG_MIGRATE_RULES,
        defaultDir: "migrations",
        defaultTable: "pgmigrations",
        readLayout: readNodePgMigrateLayout,
        readHistory: readNodePgMigrateHistory,
    },
    flyway: {
        rules: FLYWAY_RULES,
        defaultDir: "sql",
        defaultTable: "flyway_schema_history",
        readLayout: readFlywayLayout,
        readHistory: readFlywayHistory,
    },
};

export function isToolName(name: string): name is ToolName {
    return Object.prototype.hasOwnProperty.call(TOOLS, name);
}

/**
 * Every regular file under `dir` (symbolic links followed), hidden entries
 * left out, paths relative to `dir` with '/'. `depth` limits how deep it goes
 * (Flyway descends; the others read one or two levels).
 */
export function listToolFiles(dir: string, depth = 8): ToolFile[] {
    const out: ToolFile[] = [];
    const walk = (rel: string, level: number) => {
        const abs = path.join(dir, rel);
        for (const name of fs.readdirSync(abs).sort()) {
            if (name.startsWith(".")) continue;
            const relName = rel ? `${rel}/${name}` : name;
            let stat: fs.Stats;
            try {
                stat = fs.statSync(path.join(abs, name));
            } catch {
                continue; // a dangling link: no file for any tool
            }
            if (stat.isDirectory()) {
                if (level < depth) walk(relName, level + 1);
            } else if (stat.isFile()) out.push({ path: relName, bytes: fs.readFileSync(path.join(abs, name)) });
        }
    };
    walk("", 1);
    return out;
}

/** The history table by name (`schema.table`, or a bare name found through the search_path): its quoted reference and display name, or undefined. */
export async function findTable(client: Client, name: string): Promise<{ ref: string; table: string } | undefined> {
    const res = await client.query(
        `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
        [name],
    );
    const row = res.rows[0];
    return row ? { ref: `${quoteIdent(row.schema)}.${quoteIdent(row.name)}`, table: `${row.schema}.${row.name}` } : undefined;
}

export interface Adoption {
    /** In the tool's order, which is Keel's version order. */
    files: AdoptedFile[];
    /** What keel_schema_history records: the applied (and baseline) files. */
    rows: HistoryRow[];
    renumbered: boolean;
    /** Each refuses the adoption; nothing is written while there is one. */
    problems: string[];
    notes: string[];
}

/** What the parser says about how a migration's SQL may run; a problem when it cannot be parsed. */
async function sqlFacts(source: string, sql: string): Promise<SqlFacts | string> {
    try {
        const { statements } = await analyzeSql(sql, source);
        const control = statements.find((s) => s.kind === "TransactionStmt");
        const refused = statements.find((s) => s.needsNoTransaction);
        return {
            ...(control ? { transactionControl: control.line } : {}),
            ...(refused ? { needsNoTransaction: { line: refused.line, what: refused.refusedAs ?? refused.kind } } : {}),
        };
    } catch (err: any) {
        return `${err?.message ?? err}`.replace(/ ?Nothing has been run\.?| ?nothing has been run\.?/g, "").trim();
    }
}

/**
 * Plans the adoption: the tool's layout against its history, Keel's files for
 * them, and a check that Keel's own plan would see exactly the tool's pending
 * migrations as pending (none when the tool was up to date) and no problem.
 * Every problem at once; nothing here writes.
 */
export async function planAdoption(tool: Tool, layout: ToolLayout, history: ToolHistory, plan: PlanOptions): Promise<Adoption> {
    const { rules } = tool;
    const comparison = compareWithHistory(rules, layout.migrations, history);
    const problems = [...layout.problems, ...comparison.problems];
    const facts: SqlFacts[] = [];
    for (const m of layout.migrations) {
        const f = await sqlFacts(m.source, m.sql);
        if (typeof f === "string") {
            problems.push(
                `${f} (PostgreSQL's parser refuses the SQL ${rules.title} runs for it; Keel parses every file before it runs any).`,
            );
            facts.push({});
        } else facts.push(f);
    }
    const { files, renumbered } = adoptedFiles(rules, layout.migrations, comparison.states, facts);
    problems.push(...namesProblems(files));
    const rows = historyRowsFor(files);
    if (!problems.length) {
        // Each file as Keel will read it: its name, directives and statements for its transaction mode.
        for (const f of files) {
            try {
                await parseMigration(migrationSource(f.file, Buffer.from(f.text, "utf8"), f.file));
            } catch (err: any) {
                problems.push(`${f.from.source} -> ${err?.message ?? err}`);
            }
        }
        const check = migrationPlan(files, rows, plan);
        problems.push(...check.problems);
        const expected = files.filter((f) => f.state === "pending").map((f) => f.file);
        const pending = check.pending.map((f) => f.file);
        if (JSON.stringify(pending) !== JSON.stringify(expected)) {
            problems.push(
                `Keel's plan would run ${pending.join(", ") || "nothing"} where ${rules.title} has ${expected.join(", ") || "nothing"} pending (the stack's keel:migrations settings?).`,
            );
        }
    }
    const notes = [...layout.notes, ...history.notes];
    if (!rules.checksumMatches && layout.migrations.length) {
        notes.push(
            `${rules.title} keeps no checksums, so adopt cannot tell a file edited after it ran: if unsure, compare the files with their history in git first`,
        );
    }
    return { files, rows, renumbered, problems, notes };
}
