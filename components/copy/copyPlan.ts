/**
 * What a copy will do, table by table, decided before anything is written: which
 * tables' rows are copied, which columns are masked and how, and every reason the
 * copy cannot go ahead (all at once). Pure: the source's catalog comes in.
 *
 * The masking rules are checked against the source's live catalog here
 * (components/masking/liveColumns.ts), not only against the migration files: an adopted database, `DO`/`EXECUTE`, `CREATE
 * TABLE AS`/`LIKE` and partitions add columns the files cannot tell. A column no
 * rule classifies stops a masked copy. A rule naming a column the source does
 * not have is only noted: a pull request may add a column and its rule before
 * the source has it.
 */
import { KeelError } from "../errors";
import { StaleRule, staleFix, staleWhat, UnclassifiedColumn, unclassifiedFix } from "../masking/exhaustive";
import type { ColumnInfo } from "../masking/guess";
import { checkLiveCoverage } from "../masking/liveColumns";
import { MaskingRules, nearest, Rule } from "../masking/rules";
import type { MaskingKey } from "../masking/strategies";

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
    /** Every column of every user table, generated ones too, as the masking rules classify them (readLiveColumns). */
    columns: ColumnInfo[];
    /** host:port/db of the source, for the messages. */
    where: string;
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
    /** How many fields a row of `select` has. */
    fieldCount: number;
    /** The fields masked in this process, by index (NULL and SQL rules are applied by `select` itself). Data only: a worker thread builds the maskers. */
    maskedFields: { index: number; rule: Rule }[];
    masked: MaskedColumn[];
    /** False when its rows are not copied (--schema-only, or not in --tables; Keel's history is always copied). */
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
        super(`The copy cannot go ahead; nothing was changed:\n${problems.map((p) => `  - ${p}`).join("\n")}`, "CopyPlanError");
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

function unclassifiedProblem(u: UnclassifiedColumn, file: string, origin: string): string {
    return `${u.table}.${u.column} (${u.type}) has no masking rule (${origin} has it); in ${file}, ${unclassifiedFix(u)}`;
}

/** Plans a copy from the source's catalog; throws CopyPlanError naming every problem. */
export function planCopy(catalog: SourceCatalog, options: PlanOptions): CopyPlan {
    const problems: string[] = [];
    const bookkeeping = new Set(options.bookkeeping ?? []);

    let staleRules: StaleRule[] = [];
    const ruleOf = new Map<string, Map<string, Rule>>();
    if (options.masking) {
        const { rules } = options.masking;
        const skip = new Set([...bookkeeping].map(bare));
        const result = checkLiveCoverage(
            catalog.columns.filter((c) => !skip.has(bare(c.table))),
            rules,
            catalog.where,
        );
        problems.push(...result.unclassified.map((u) => unclassifiedProblem(u, rules.file, result.origin)));
        // Beside a column without a rule, a rule that names a near spelling is most likely its typo: say so.
        for (const st of result.stale.filter((x) => x.renamedTo !== undefined && result.unclassified.length)) {
            problems.push(`${st.file}:${st.line}: the rule for ${staleWhat(st)} names nothing in the source; ${staleFix(st)}`);
        }
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
        const maskedFields: { index: number; rule: Rule }[] = [];
        const masked: MaskedColumn[] = [];
        for (const c of t.columns) {
            const rule = rules?.get(c.name);
            const col = quoteIdent(c.name);
            if (!rule || rule.kind === "keep") {
                fields.push(col);
                continue;
            }
            masked.push({ column: c.name, type: c.type, strategy: strategyLabel(rule), rule });
            if (rule.kind === "null") {
                fields.push(`NULL AS ${col}`);
            } else if (rule.kind === "sql") {
                fields.push(`(${rule.sql})::${c.type} AS ${col}`);
            } else {
                maskedFields.push({ index: fields.length, rule });
                fields.push(col);
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
            fieldCount: t.columns.length,
            maskedFields,
            masked,
            // Keel's history always comes with its rows: a schema without them would be migrated again from the start.
            copyRows: bookkeeping.has(qualifiedName(t)) || (!options.schemaOnly && (!selected || selected.has(qualifiedName(t)))),
            estimatedRows: Math.max(0, Math.round(t.estimatedRows)),
        };
    });
    return { masked: options.masking !== undefined, tables, staleRules };
}

/** The plan in lines for the operator: per table, copied or empty, masked columns. */
export function describeCopyPlan(plan: CopyPlan): string[] {
    const lines = plan.tables.map((t) => {
        // reltuples is -1 (or 0) until the table is first vacuumed or analyzed: no estimate then.
        const rows = !t.copyRows ? "created empty" : t.estimatedRows > 0 ? `rows copied (about ${t.estimatedRows})` : "rows copied";
        const masked = t.masked.length ? `; masked: ${t.masked.map((m) => `${m.column} (${m.strategy})`).join(", ")}` : "";
        return `  ${t.table}: ${rows}${masked}`;
    });
    for (const s of plan.staleRules) lines.push(`  note: the rule for ${staleWhat(s)} (${s.file}:${s.line}) names nothing in the source`);
    return lines;
}
