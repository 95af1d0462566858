/**
 * What adopting another tool's history works with, whatever the tool: its
 * migration files as read (ToolMigration), its history table as read
 * (ToolHistory), and the few facts about each tool the comparison needs
 * (ToolRules). Types and small pure helpers only.
 */

export type ToolName = "prisma" | "dbmate" | "node-pg-migrate" | "flyway";

/** A file under the tool's migrations directory, as read from disk. */
export interface ToolFile {
    /** Relative to the directory, with '/' between parts (`20240101_init/migration.sql`). */
    path: string;
    bytes: Buffer;
}

/** One migration as the tool sees it: what it runs, and how it names and checks it. */
export interface ToolMigration {
    /** The migration's identity in the tool's history table: dbmate's version, Prisma's migration_name, node-pg-migrate's name, Flyway's version. */
    id: string;
    /** The file it comes from, relative to the tool's directory (messages name it). */
    source: string;
    /** The digits the tool's name starts with, as written: a candidate Keel version. Absent when the name has none (Flyway's `1.1`). */
    number?: string;
    /** The name after the version, as the tool's file names it (sanitized for Keel later). */
    name: string;
    /** The SQL the tool sends to PostgreSQL for it (the up part only), without a leading byte order mark. */
    sql: string;
    /** The tool's own mark that it runs outside a transaction. */
    noTransaction: boolean;
    /** How the tool marked it, for messages: `-- migrate:up transaction:false`. */
    mark?: string;
    /** The checksum as the tool computes and records it, for tools that keep one (Prisma: sha256 hex; Flyway: CRC32 as a signed integer). */
    checksum?: string;
    /** The file's text as the tool checksums it (a byte order mark included), where that differs from `sql`. */
    checkedText?: string;
    /** Why the file cannot stand for what the tool applied, when the history says it is applied (dbmate's several sections). */
    appliedProblem?: string;
}

/** The tool's directory read: its migrations in the order the tool runs them, and what cannot be adopted. */
export interface ToolLayout {
    migrations: ToolMigration[];
    /** Each refuses the adoption. */
    problems: string[];
    /** What is left out on purpose, shown with the plan. */
    notes: string[];
}

export type ToolEntryStatus = "applied" | "failed" | "rolled-back";

/** A migration's state in the tool's history table (its latest word on it). */
export interface ToolHistoryEntry {
    id: string;
    status: ToolEntryStatus;
    /** How messages name it when the id alone says little: `version 3 (V3__Broken.sql)`. */
    label?: string;
    /** The file the tool recorded for it, when it records one (Flyway's script). */
    file?: string;
    /** The checksum the tool recorded, for tools that keep one. */
    checksum?: string;
    /** What the table says of a failure: Prisma's logs, Flyway's script. */
    detail?: string;
}

export interface ToolHistory {
    /** The table as read, schema-qualified: `public.schema_migrations`. */
    table: string;
    entries: ToolHistoryEntry[];
    /** Flyway: the version a baseline row marks as in place; versions at or below it count as applied without a row. */
    baseline?: string;
    /** Rows that are neither migrations nor problems (Flyway's schema-creation row), for the plan's notes. */
    notes: string[];
    /** Rows that refuse the adoption by themselves (Flyway's Java migrations). */
    problems?: string[];
}

/** What the comparison and the messages need to know about a tool. */
export interface ToolRules {
    tool: ToolName;
    /** `dbmate`, `Prisma`: how messages name it. */
    title: string;
    /** Whether a recorded checksum matches the file, as the tool decides it (tools that keep checksums; without it edits go unnoticed). */
    checksumMatches?: (migration: ToolMigration, recorded: string) => boolean;
    /** Orders two ids as the tool orders migrations (for a Flyway baseline). */
    compareIds?: (a: string, b: string) => number;
    /** What to run with the tool to settle a failed or rolled-back migration. */
    settle: (entry: ToolHistoryEntry) => string;
}

/** The byte order mark a file may start with; PostgreSQL would read it as part of the first word. */
export const BOM = "\uFEFF";

export function stripBom(text: string): string {
    return text.startsWith(BOM) ? text.slice(1) : text;
}

/** Strict byte-wise order of two strings, as Go and Rust compare them (dbmate, Prisma). */
export function compareBytes(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * A name Keel's file pattern takes (`[A-Za-z0-9][A-Za-z0-9_.-]*`): every run of
 * other characters becomes one `_`, leading ones go, and it is cut to 100
 * characters; `migration` when nothing is left.
 */
export function sanitizeName(raw: string): string {
    const cleaned = raw
        .replace(/[^A-Za-z0-9_.-]+/g, "_")
        .replace(/^[^A-Za-z0-9]+/, "")
        .slice(0, 100)
        .replace(/_+$/, "");
    return cleaned || "migration";
}

/** `1 migration`, `2 migrations`. */
export function count(n: number, what: string): string {
    return `${n} ${what}${n === 1 ? "" : "s"}`;
}
