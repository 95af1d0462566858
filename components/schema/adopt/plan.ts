/**
 * The pure steps of an adoption: the tool's history against its files (what
 * is applied, what refuses), Keel's file names for the tool's migrations in
 * the tool's order, the files' text with Keel's directives, and the
 * keel_schema_history rows that record them. No disk, no database.
 */
import { checksumOf, compareVersions, MAX_VERSION, MIGRATION_FILE_PATTERN } from "../migrationSet";
import type { HistoryRow } from "../plan";
import { count, sanitizeName, ToolHistory, ToolHistoryEntry, ToolMigration, ToolRules } from "./model";

/** What becomes of a migration: recorded as applied (or baseline), left pending, or (refusing the adoption) failed or rolled back in the tool. */
export type AdoptedState = "applied" | "baseline" | "pending" | "failed" | "rolled-back";

export interface Comparison {
    /** Per migration, in the tool's order. */
    states: AdoptedState[];
    /** Each refuses the adoption, naming the migration. */
    problems: string[];
}

function describeEntry(rules: ToolRules, entry: ToolHistoryEntry, table: string): string {
    const what = entry.status === "failed" ? "is recorded as failed" : "is recorded as rolled back";
    const detail = entry.detail ? ` (${entry.detail})` : "";
    return `${entry.label ?? entry.id} ${what} in ${table}${detail}: ${rules.settle(entry)}, then adopt again.`;
}

/** A git pathspec that finds a file under any directory. */
function anywhere(file: string): string {
    return `'*${file.replace(/'/g, "")}'`;
}

/**
 * Compares the tool's history with its files. Refuses (each named once): a
 * failed or rolled-back migration; an applied one whose file is missing; a
 * file edited after it was applied (tools that keep a checksum); a file the
 * history lacks that comes before an applied one (it would never run).
 */
export function compareWithHistory(rules: ToolRules, migrations: ToolMigration[], history: ToolHistory): Comparison {
    const problems: string[] = [...(history.problems ?? [])];
    const byId = new Map(history.entries.map((e) => [e.id, e]));
    const files = new Set(migrations.map((m) => m.id));
    for (const entry of history.entries) {
        if (entry.status !== "applied") problems.push(describeEntry(rules, entry, history.table));
        else if (!files.has(entry.id)) {
            problems.push(
                `${entry.label ?? entry.id} is applied (${history.table} records it) but the directory has no file for it: ` +
                    `restore the file (git log --all -- ${anywhere(entry.file ?? `${entry.id}*`)} finds it), then adopt again.`,
            );
        }
    }
    const states: AdoptedState[] = migrations.map((m) => {
        const entry = byId.get(m.id);
        if (entry) {
            if (entry.status !== "applied") return entry.status; // reported above
            if (entry.checksum !== undefined && rules.checksumMatches && !rules.checksumMatches(m, entry.checksum)) {
                problems.push(
                    `${m.source} was edited after it was applied: ${history.table} records checksum ${entry.checksum}, ` +
                        `the file's is ${m.checksum ?? "(none)"}. Put back the applied version (git log -p -- ${anywhere(m.source)}), then adopt again.`,
                );
            }
            if (m.appliedProblem) problems.push(`${m.source}: ${m.appliedProblem}`);
            return "applied";
        }
        if (history.baseline !== undefined && rules.compareIds && rules.compareIds(m.id, history.baseline) <= 0) return "baseline";
        return "pending";
    });
    // A file the tool has not run, before one it has: Keel keeps one order, and would never run it.
    let lastApplied = -1;
    states.forEach((s, i) => {
        if (s === "applied" || s === "baseline") lastApplied = i;
    });
    states.forEach((s, i) => {
        const m = migrations[i];
        const entry = byId.get(m.id);
        if (s === "pending" && i < lastApplied && !entry) {
            problems.push(
                `${m.source} is not applied, but ${migrations[lastApplied].source}, which comes after it, is: ` +
                    `apply it with ${rules.title} (or remove it if it is abandoned), then adopt again.`,
            );
        }
    });
    return { states, problems };
}

export interface KeelName {
    /** The version as the file name writes it (leading zeros kept). */
    digits: string;
    /** Canonical: no leading zeros. */
    version: string;
    name: string;
    file: string;
}

/**
 * Keel's file names for the tool's migrations, given in the tool's order. The
 * tool's own numbers are kept when every migration has one, they fit bigint
 * and they already sort (numerically, distinct) in the tool's order;
 * otherwise the migrations are numbered 0001, 0002, … in that order.
 */
export function keelFileNames(migrations: Pick<ToolMigration, "number" | "name">[]): { names: KeelName[]; renumbered: boolean } {
    const keep =
        migrations.every((m) => m.number !== undefined && /^\d+$/.test(m.number) && BigInt(m.number) <= MAX_VERSION) &&
        migrations.every(
            (m, i) => i === 0 || compareVersions(BigInt(migrations[i - 1].number!).toString(), BigInt(m.number!).toString()) < 0,
        );
    const width = Math.max(4, String(migrations.length).length);
    const names = migrations.map((m, i) => {
        const digits = keep ? m.number! : String(i + 1).padStart(width, "0");
        const name = sanitizeName(m.name);
        return { digits, version: BigInt(digits).toString(), name, file: `${digits}_${name}.sql` };
    });
    return { names, renumbered: !keep };
}

/** What the parser found in a migration's SQL that decides how Keel may run it. */
export interface SqlFacts {
    /** Line of a BEGIN/COMMIT/ROLLBACK in the file, if any. */
    transactionControl?: number;
    /** A statement PostgreSQL refuses inside a transaction block, if any. */
    needsNoTransaction?: { line: number; what: string };
}

export interface AdoptedFile {
    file: string;
    version: string;
    name: string;
    /** The file's text: Keel's header, then the tool's SQL as the tool ran it. */
    text: string;
    /** sha256 of the file's bytes, as keel_schema_history records it. */
    checksum: string;
    state: AdoptedState;
    noTransaction: boolean;
    /** Why it is a no-transaction file, when it is. */
    why?: string;
    from: ToolMigration;
}

/** Why the file runs outside a transaction in Keel, or undefined when it runs in one. */
export function noTransactionReason(rules: Pick<ToolRules, "title">, m: ToolMigration, facts: SqlFacts): string | undefined {
    if (m.noTransaction) return `${rules.title} ran it outside a transaction (${m.mark ?? "its no-transaction mark"})`;
    if (facts.needsNoTransaction)
        return `line ${facts.needsNoTransaction.line} holds ${facts.needsNoTransaction.what}, which PostgreSQL refuses in a transaction block`;
    if (facts.transactionControl !== undefined)
        return `it holds its own transaction control (line ${facts.transactionControl}), which Keel allows only in a no-transaction file`;
    return undefined;
}

/** The text of the Keel file: directive, where it came from, then the tool's SQL unchanged. */
export function keelFileText(rules: Pick<ToolRules, "title">, m: ToolMigration, noTransaction: boolean): string {
    const header = [
        ...(noTransaction ? ["-- keel:no-transaction"] : []),
        `-- Adopted from ${rules.title}: ${m.source.replace(/[\r\n]+/g, " ")} (npm run schema:adopt).`,
    ];
    const body = m.sql;
    return `${header.join("\n")}\n${body}${body.endsWith("\n") || body === "" ? "" : "\n"}`;
}

/** The adoption's files, in the tool's order, from the comparison's states and each migration's SQL facts. */
export function adoptedFiles(
    rules: Pick<ToolRules, "title">,
    migrations: ToolMigration[],
    states: AdoptedState[],
    facts: SqlFacts[],
): { files: AdoptedFile[]; renumbered: boolean } {
    const { names, renumbered } = keelFileNames(migrations);
    const files = migrations.map((m, i) => {
        const why = noTransactionReason(rules, m, facts[i] ?? {});
        const text = keelFileText(rules, m, why !== undefined);
        return {
            file: names[i].file,
            version: names[i].version,
            name: names[i].name,
            text,
            checksum: checksumOf(Buffer.from(text, "utf8")),
            state: states[i],
            noTransaction: why !== undefined,
            ...(why ? { why } : {}),
            from: m,
        };
    });
    return { files, renumbered };
}

/** The keel_schema_history rows for the files the tool applied (pending ones get none). */
export function historyRowsFor(files: AdoptedFile[]): HistoryRow[] {
    return files
        .filter((f) => f.state === "applied" || f.state === "baseline")
        .map((f) => ({ version: f.version, name: f.name, checksum: f.checksum, status: f.state === "baseline" ? "baseline" : "applied" }));
}

/** Every file name matches Keel's pattern and versions rise: a check on the plan before anything is written. */
export function namesProblems(files: Pick<AdoptedFile, "file" | "version">[]): string[] {
    const problems: string[] = [];
    files.forEach((f, i) => {
        if (!MIGRATION_FILE_PATTERN.test(f.file)) problems.push(`${f.file}: not a Keel migration file name`);
        if (i > 0 && compareVersions(files[i - 1].version, f.version) >= 0)
            problems.push(`${f.file}: version ${f.version} does not come after ${files[i - 1].file}`);
    });
    return problems;
}

/** One line per file for the plan: state, Keel's file, the tool's file, and why it is no-transaction. */
export function describeFiles(files: AdoptedFile[]): string[] {
    // What refuses the adoption stands out, as schema:status shows FAILED.
    const label = (f: AdoptedFile) => (f.state === "failed" || f.state === "rolled-back" ? f.state.toUpperCase() : f.state);
    const states = Math.max(8, ...files.map((f) => label(f).length));
    const width = Math.max(0, ...files.map((f) => f.file.length));
    return files.map(
        (f) =>
            `  ${label(f).padEnd(states)} ${f.file.padEnd(width)}  <- ${f.from.source}` +
            (f.why ? `\n${" ".repeat(states + 3)}keel:no-transaction: ${f.why}` : ""),
    );
}

/** `3 applied, 1 pending` */
export function summarize(files: AdoptedFile[]): string {
    const n = (s: string) => files.filter((f) => f.state === s).length;
    const parts = [`${n("applied")} applied`];
    if (n("baseline")) parts.push(`${n("baseline")} baseline`);
    if (n("failed")) parts.push(`${n("failed")} failed`);
    if (n("rolled-back")) parts.push(`${n("rolled-back")} rolled back`);
    parts.push(`${n("pending")} pending`);
    return `${count(files.length, "migration")}: ${parts.join(", ")}`;
}
