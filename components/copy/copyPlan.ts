/**
 * What a copy will do, table by table, decided before anything is written: which
 * tables' rows are copied, which columns are masked and how, and every reason the
 * copy cannot go ahead (all at once). Pure: the source's catalog comes in.
 *
 * The masking rules are checked against the source's live catalog here, not only
 * against the migration files: an adopted database, `DO`/`EXECUTE`, `CREATE
 * TABLE AS`/`LIKE` and partitions add columns the files cannot tell. A column no
 * rule classifies stops a masked copy. A rule naming a column the source does
 * not have is only noted: a pull request may add a column and its rule before
 * the source has it.
 */
import { KeelError } from "../errors";
import { checkExhaustive, StaleRule, staleWhat, UnclassifiedColumn, unclassifiedFix } from "../masking/exhaustive";
import { MaskingRules, nearest, Rule } from "../masking/rules";
import { MaskingKey, strategyFor } from "../masking/strategies";
import type { FieldMasker } from "./rowMasker";

export interface SourceColumn {
    name: string;
    /** As format_type names it. */
    type: string;
}

export interface SourceTable {
    schema: string;
    name: string;
    /** `partitioned`: a partitioned root (its partitions' rows are read and written through it). */
    kind: "table" | "partitioned";
    /** Stored columns in order (generated columns are recomputed by the target, so not listed). */
    columns: SourceColumn[];
    /** pg_class.reltuples: an estimate, for the progress lines. */
    estimatedRows: number;
}

export interface ForeignKey {
    name: string;
    /** schema.table of the referencing table. */
    from: string;
    /** schema.table of the referenced table. */
    to: string;
}

export interface SourceCatalog {
    tables: SourceTable[];
    foreignKeys: ForeignKey[];
}

export interface PlanOptions {
    masking?: { rules: MaskingRules; key: MaskingKey };
    schemaOnly?: boolean;
    /** Only these tables' rows; the others are created empty. */
    tables?: string[];
    /** schema.table names copied as they are without a rule: Keel's own bookkeeping (the migration history). */
    bookkeeping?: string[];
}

export interface MaskedColumn {
    column: string;
    /** Its type as format_type names it. */
    type: string;
    /** The strategy as the rules write it: `email`, `text (pattern)`, `sql`, `json (2 paths)`. */
    strategy: string;
    rule: Rule;
}

export interface TableCopy {
    /** schema.table, `public.` left out. */
    table: string;
    /** The quoted, qualified name. */
    sqlName: string;
    /** The FROM of its queries: `ONLY` for a plain table (an inheritance parent's children are tables of their own). */
    from: string;
    /** The query COPY reads the rows with (NULL and SQL expressions applied there). */
    select: string;
    /** The quoted target columns, in the order of the query's fields. */
    targetColumns: string[];
    /** Per field: the masker, or undefined when the field passes as it is. */
    maskers: (FieldMasker | undefined)[];
    masked: MaskedColumn[];
    /** False when its rows are not copied (--schema-only, or not in --tables). */
    copyRows: boolean;
    estimatedRows: number;
}

export interface CopyPlan {
    masked: boolean;
    tables: TableCopy[];
    /** Rules that name nothing in the source (noted, not a failure). */
    staleRules: StaleRule[];
}

/** A copy that cannot go ahead as asked; every reason at once, each with its fix. */
export class CopyPlanError extends KeelError {
    constructor(readonly problems: string[]) {
        super(
            `The copy cannot go ahead; nothing was changed:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
            "CopyPlanError",
        );
    }
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const displayName = (schema: string, name: string) => (schema === "public" ? name : `${schema}.${name}`);
const qualifiedName = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
const bare = (t: string) => (t.startsWith("public.") ? t.slice("public.".length) : t);

/** The strategy as the rules file writes it, for plans and reports. */
export function strategyLabel(rule: Rule): string {
    switch (rule.kind) {
        case "text":
            return "pattern" in rule ? "text (pattern)" : "text";
        case "fixed":
            return "fixed";
        case "json":
            return `json (${rule.paths.length} path${rule.paths.length === 1 ? "" : "s"})`;
        default:
            return rule.kind;
    }
}

function unclassifiedProblem(u: UnclassifiedColumn, file: string): string {
    return (
        `${u.table}.${u.column} (${u.type}) in the source has no masking rule` +
        (u.source ? ` (added at ${u.source.file}:${u.source.line})` : " (the source's live catalog has it)") +
        `; in ${file}, ${unclassifiedFix(u)}`
    );
}

/** Plans a copy from the source's catalog; throws CopyPlanError naming every problem. */
export function planCopy(catalog: SourceCatalog, options: PlanOptions): CopyPlan {
    const problems: string[] = [];
    const bookkeeping = new Set(options.bookkeeping ?? []);
    const userTables = catalog.tables.filter((t) => !bookkeeping.has(qualifiedName(t)));

    let staleRules: StaleRule[] = [];
    const ruleOf = new Map<string, Map<string, Rule>>();
    if (options.masking) {
        const { rules } = options.masking;
        const columns = userTables.flatMap((t) =>
            t.columns.map((c) => ({ table: displayName(t.schema, t.name), column: c.name, type: c.type })),
        );
        const result = checkExhaustive(columns, rules);
        problems.push(...result.unclassified.map((u) => unclassifiedProblem(u, rules.file)));
        staleRules = result.stale;
        for (const t of rules.tables) ruleOf.set(bare(t.table), new Map(t.columns.map((c) => [c.column, c.rule])));
    }

    let selected: Set<string> | undefined;
    if (options.tables) {
        selected = new Set();
        const known = catalog.tables.map((t) => displayName(t.schema, t.name));
        for (const name of options.tables) {
            const hit = catalog.tables.find((t) => displayName(t.schema, t.name) === bare(name) || qualifiedName(t) === name);
            if (hit) selected.add(qualifiedName(hit));
            else {
                const near = nearest(bare(name), known);
                problems.push(
                    `--tables names '${name}', which the source does not have` +
                        (near ? `; did you mean '${near}'?` : `; its tables: ${known.join(", ") || "(none)"}`),
                );
            }
        }
        for (const fk of catalog.foreignKeys) {
            if (selected.has(fk.from) && !selected.has(fk.to) && fk.from !== fk.to) {
                problems.push(
                    `--tables copies ${bare(fk.from)}, whose foreign key ${fk.name} references ${bare(fk.to)}, which is not listed: ` +
                        `add ${bare(fk.to)} to --tables (its rows are needed for the key to hold)`,
                );
            }
        }
    }
    if (problems.length) throw new CopyPlanError(problems);

    const tables = catalog.tables.map((t): TableCopy => {
        const table = displayName(t.schema, t.name);
        const sqlName = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
        const rules = options.masking && !bookkeeping.has(qualifiedName(t)) ? ruleOf.get(table) : undefined;
        const fields: string[] = [];
        const maskers: (FieldMasker | undefined)[] = [];
        const masked: MaskedColumn[] = [];
        for (const c of t.columns) {
            const rule = rules?.get(c.name);
            const col = quoteIdent(c.name);
            if (!rule || rule.kind === "keep") {
                fields.push(col);
                maskers.push(undefined);
                continue;
            }
            masked.push({ column: c.name, type: c.type, strategy: strategyLabel(rule), rule });
            if (rule.kind === "null") {
                fields.push(`NULL AS ${col}`);
                maskers.push(undefined);
            } else if (rule.kind === "sql") {
                fields.push(`(${rule.sql})::${c.type} AS ${col}`);
                maskers.push(undefined);
            } else {
                fields.push(col);
                maskers.push(strategyFor(rule, options.masking!.key).mask);
            }
        }
        // ONLY: an inheritance parent's children are tables of their own, copied on their own.
        const from = t.kind === "partitioned" ? sqlName : `ONLY ${sqlName}`;
        return {
            table,
            sqlName,
            from,
            select: `SELECT ${fields.join(", ") || "NULL"} FROM ${from}`,
            targetColumns: t.columns.map((c) => quoteIdent(c.name)),
            maskers,
            masked,
            copyRows: !options.schemaOnly && (!selected || selected.has(qualifiedName(t))),
            estimatedRows: Math.max(0, Math.round(t.estimatedRows)),
        };
    });
    return { masked: options.masking !== undefined, tables, staleRules };
}

/** The plan in lines for the operator: per table, copied or empty, masked columns. */
export function describeCopyPlan(plan: CopyPlan): string[] {
    const lines = plan.tables.map((t) => {
        const rows = t.copyRows ? `rows copied (about ${t.estimatedRows})` : "created empty";
        const masked = t.masked.length ? `; masked: ${t.masked.map((m) => `${m.column} (${m.strategy})`).join(", ")}` : "";
        return `  ${t.table}: ${rows}${masked}`;
    });
    for (const s of plan.staleRules) lines.push(`  note: the rule for ${staleWhat(s)} (${s.file}:${s.line}) names nothing in the source`);
    return lines;
}
