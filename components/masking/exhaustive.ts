/**
 * The exhaustiveness check of the masking rules: every column that exists is
 * classified by a rule, and every rule names a column that exists. Pure: the
 * columns come from whatever read them (the migration files, the live catalog of
 * the source, or both, concatenated; a column listed twice is reported once, with
 * the first source given).
 *
 * Table names compare with an optional `public.` schema dropped, so `accounts`
 * in the rules classifies `public.accounts`; otherwise names compare exactly, as
 * PostgreSQL stores them.
 */
import { KeelError } from "../errors";
import { ColumnInfo, ruleLine } from "./guess";
import { MaskingRules, nearest } from "./rules";

export interface UnclassifiedColumn {
    table: string;
    column: string;
    type: string;
    /** The migration file and line that added it, when known. */
    source?: { file: string; line: number };
    /** The line to add under the table's key (`  email: email  # review: …`). */
    line: string;
    /** Whether the table has no block in the rules yet (then add `<table>:` first). */
    tableMissing: boolean;
}

export interface StaleRule {
    table: string;
    /** Undefined when the whole table is gone. */
    column?: string;
    file: string;
    line: number;
    /** A column or table that exists unclassified with a near name: perhaps the rename. */
    renamedTo?: string;
}

export interface Exhaustiveness {
    unclassified: UnclassifiedColumn[];
    stale: StaleRule[];
}

const bareTable = (t: string) => (t.startsWith("public.") ? t.slice("public.".length) : t);

/** The candidate a name was perhaps renamed to: a near spelling, or the one name that contains it or is contained in it. */
function renameOf(name: string, candidates: string[]): string | undefined {
    const near = nearest(name, candidates);
    if (near !== undefined) return near;
    const containing = candidates.filter((c) => c.includes(name) || name.includes(c));
    return containing.length === 1 ? containing[0] : undefined;
}

/** The columns no rule classifies and the rules that name nothing that exists. */
export function checkExhaustive(columns: ColumnInfo[], rules: MaskingRules): Exhaustiveness {
    const ruleTables = new Map<string, { line: number; columns: Map<string, number> }>();
    for (const t of rules.tables) {
        const cols = new Map<string, number>();
        for (const c of t.columns) cols.set(c.column, c.line);
        ruleTables.set(bareTable(t.table), { line: t.line, columns: cols });
    }

    const existing = new Map<string, Set<string>>();
    const unclassified: UnclassifiedColumn[] = [];
    for (const c of columns) {
        const table = bareTable(c.table);
        if (!existing.has(table)) existing.set(table, new Set());
        const cols = existing.get(table)!;
        if (cols.has(c.column)) continue;
        cols.add(c.column);
        const rt = ruleTables.get(table);
        if (rt?.columns.has(c.column)) continue;
        unclassified.push({
            table: c.table,
            column: c.column,
            type: c.type,
            ...(c.source ? { source: c.source } : {}),
            line: ruleLine(c),
            tableMissing: rt === undefined,
        });
    }

    const stale: StaleRule[] = [];
    for (const t of rules.tables) {
        const table = bareTable(t.table);
        const cols = existing.get(table);
        if (!cols) {
            const missing = [...existing.keys()].filter((x) => !ruleTables.has(x));
            const renamedTo = renameOf(table, missing);
            stale.push({ table: t.table, file: rules.file, line: t.line, ...(renamedTo ? { renamedTo } : {}) });
            continue;
        }
        for (const c of t.columns) {
            if (cols.has(c.column)) continue;
            const open = unclassified.filter((u) => bareTable(u.table) === table).map((u) => u.column);
            const renamedTo = renameOf(c.column, open);
            stale.push({ table: t.table, column: c.column, file: rules.file, line: c.line, ...(renamedTo ? { renamedTo } : {}) });
        }
    }
    return { unclassified, stale };
}

/** The edit that classifies a column: the exact line to add, and its table key first when the table has none. */
export function unclassifiedFix(u: UnclassifiedColumn): string {
    return u.tableMissing ? `add '${u.table}:' and under it '${u.line.trim()}'` : `add under '${u.table}:' the line '${u.line.trim()}'`;
}

/** What a stale rule names: `table t` or `column t.c`. */
export function staleWhat(s: StaleRule): string {
    return s.column === undefined ? `table ${s.table}` : `column ${s.table}.${s.column}`;
}

/** The edit that fixes a stale rule. */
export function staleFix(s: StaleRule): string {
    return `delete the rule${s.renamedTo ? ` (renamed to ${s.renamedTo}? then rename the key)` : ""}`;
}

/**
 * The report of a check that found something, for preflight, the pre-commit hook and preview; `origin` says where
 * a column without a migration file:line was found (the live catalog of a database).
 */
export function describeExhaustiveness(result: Exhaustiveness, rulesFile: string, origin?: string): string {
    const lines: string[] = [];
    if (result.unclassified.length > 0) {
        lines.push(
            `${result.unclassified.length} column${result.unclassified.length === 1 ? " has" : "s have"} no masking rule in ${rulesFile}:`,
        );
        for (const u of result.unclassified) {
            const where = u.source ? ` (added at ${u.source.file}:${u.source.line})` : origin ? ` (in ${origin})` : "";
            lines.push(`  - ${u.table}.${u.column}${where}\n    fix: ${unclassifiedFix(u)}`);
        }
    }
    if (result.stale.length > 0) {
        lines.push(`${result.stale.length} masking rule${result.stale.length === 1 ? " names" : "s name"} nothing that exists:`);
        for (const s of result.stale) {
            lines.push(`  - ${s.file}:${s.line}: ${staleWhat(s)} no longer exists\n    fix: ${staleFix(s)}`);
        }
    }
    return lines.join("\n");
}

/**
 * Columns without rules, or rules without columns. `origin` is set when the columns came from a live database
 * (liveColumns.ts: `the live catalog of host:5432/app`) rather than from the migration files.
 */
export class MaskingCoverageError extends KeelError {
    constructor(
        readonly result: Exhaustiveness,
        rulesFile: string,
        readonly origin?: string,
    ) {
        super(
            (origin ? `${rulesFile} does not match ${origin} (the database itself, not a migration file, says so):\n` : "") +
                describeExhaustiveness(result, rulesFile, origin),
            "MaskingCoverageError",
        );
    }
}

/** Throws {@link MaskingCoverageError} unless every column is classified and no rule is stale. */
export function assertExhaustive(columns: ColumnInfo[], rules: MaskingRules): void {
    const result = checkExhaustive(columns, rules);
    if (result.unclassified.length > 0 || result.stale.length > 0) throw new MaskingCoverageError(result, rules.file);
}
