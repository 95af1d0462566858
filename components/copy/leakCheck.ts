/**
 * The proof after a masked copy that no original value reached the target: for
 * every masked column, the values (or the pattern's matches, or the json paths'
 * values) of the source and of the target are compared by keyed hash. Pure: the
 * values come in from wherever they were read.
 *
 * Sampling is consistent: a value is looked at on both sides exactly when its
 * keyed hash (under a key drawn for this check) falls in the sample, so a leaked
 * value in the sample is always found, and the sample cannot be predicted. Up to
 * SAMPLE_UNITS rows a column is compared whole.
 *
 * A value present on both sides is a leak unless the rule can legitimately give
 * it: `fixed` gives its value; `phone` (a bijection on digits of one shape), a
 * pattern (digits by digits) and `sql` can map one source value onto another.
 * Those candidates are checked again against what the rule gives for the source
 * (the caller's second pass); for `email`, `name`, `hash` and `text` an output
 * equal to a source value has negligible probability (see strategies.ts), so a
 * candidate is a leak.
 */
import { createHmac, randomBytes } from "crypto";
import { JsonPathStep, Rule, ScalarRule } from "../masking/rules";
import { MaskingKey, strategyFor } from "../masking/strategies";

/** Rows compared whole; above it, a consistent sample of about this many. */
export const SAMPLE_UNITS = 200_000;

/** What a rule's values are compared by: whole values, pattern matches, or json leaves. */
export function unitsOf(rule: Rule, value: string | null): string[] {
    if (value === null) return [];
    if (rule.kind === "text" && "pattern" in rule) {
        const global = rule.pattern.global ? rule.pattern : new RegExp(rule.pattern.source, rule.pattern.flags + "g");
        return [...value.matchAll(global)].map((m) => m[0]).filter((m) => m.length > 0);
    }
    if (rule.kind === "json") {
        let doc: unknown;
        try {
            doc = JSON.parse(value);
        } catch {
            return [value];
        }
        return rule.paths.filter((p) => p.rule.kind !== "keep").flatMap((p) => leaves(doc, p.steps).map((l) => `${p.path}\0${l}`));
    }
    return [value];
}

function leaves(node: unknown, steps: JsonPathStep[]): string[] {
    if (node === null || node === undefined) return [];
    if (steps.length === 0) return [typeof node === "string" ? node : JSON.stringify(node)];
    const [step, ...rest] = steps;
    if ("key" in step) {
        if (typeof node !== "object" || Array.isArray(node)) return [];
        return leaves((node as Record<string, unknown>)[step.key], rest);
    }
    if (!Array.isArray(node)) return [];
    if (step.index === "*") return node.flatMap((el) => leaves(el, rest));
    return leaves(node[step.index], rest);
}

/**
 * The SQL that gives a column's units in the database, one unit a row, each with
 * the prefix the JS units carry (json: `path\0`); undefined for a pattern rule,
 * whose matches JavaScript's regular expressions must find (PostgreSQL's differ).
 */
export function unitQueries(rule: Rule, column: string): { prefix: string; expr: string }[] | undefined {
    if (rule.kind === "text" && "pattern" in rule) return undefined;
    if (rule.kind === "json") {
        return rule.paths
            .filter((p) => p.rule.kind !== "keep")
            .map((p) => ({
                prefix: `${p.path}\0`,
                // strict: a key step never unwraps an array (as unitsOf's walk); silent: a missing key is no unit, not an error.
                expr: `jsonb_path_query(${column}::jsonb, ${sqlLiteral(sqlJsonPath(p.steps))}, '{}', true) #>> '{}'`,
            }));
    }
    return [{ prefix: "", expr: `${column}::text` }];
}

/** A json path of the rules as an SQL/JSON path in strict mode. */
export function sqlJsonPath(steps: JsonPathStep[]): string {
    return (
        "strict $" +
        steps
            .map((s) => ("key" in s ? `."${s.key.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"` : s.index === "*" ? "[*]" : `[${s.index}]`))
            .join("")
    );
}

const sqlLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Rows a column is compared whole up to; above, the modulus of its consistent sample. */
export function sampleModulus(rows: number, sampleUnits = SAMPLE_UNITS): number {
    return Math.max(1, Math.ceil(rows / sampleUnits));
}

/** The units found on both sides (never the rule's fixed value): candidates for the second look. */
export function commonUnits(rule: Rule, source: Iterable<string>, target: Iterable<string>): string[] {
    const seen = new Set(source);
    const fixed = rule.kind === "fixed" ? fixedText(rule.value) : undefined;
    const found = new Set<string>();
    for (const u of target) if (u !== fixed && seen.has(u)) found.add(u);
    return [...found];
}

/** Whether the rule can map a source value onto another source value (so a candidate needs a second look). */
export function canCollide(rule: Rule): boolean {
    if (rule.kind === "phone" || rule.kind === "sql" || rule.kind === "fixed") return true;
    if (rule.kind === "text" && "pattern" in rule) return true;
    if (rule.kind === "json") return rule.paths.some((p) => canCollide(p.rule));
    return false;
}

/**
 * What the rule gives for one source unit (for the second look), undefined when
 * only the database can say (`sql`). Pattern units are matches, json units are
 * `path\0leaf`.
 */
export function unitOutput(rule: Rule, key: MaskingKey): ((unit: string) => string | undefined) | undefined {
    if (rule.kind === "sql") return undefined;
    if (rule.kind === "json") {
        const byPath = new Map(rule.paths.map((p) => [p.path, leafMasker(p.rule, key)]));
        return (unit) => {
            const cut = unit.indexOf("\0");
            const masker = byPath.get(unit.slice(0, cut));
            const out = masker?.(unit.slice(cut + 1));
            return out === undefined || out === null ? undefined : `${unit.slice(0, cut)}\0${out}`;
        };
    }
    const mask = strategyFor(rule, key).mask;
    return (unit) => mask(unit) ?? undefined;
}

function leafMasker(rule: ScalarRule, key: MaskingKey): (v: string) => string | null {
    if (rule.kind === "fixed")
        return () => (rule.value === null ? null : typeof rule.value === "string" ? rule.value : JSON.stringify(rule.value));
    return strategyFor(rule, key).mask;
}

/** One column's comparison: feed the source, then the target; read the candidates. */
export class LeakProbe {
    private readonly key = randomBytes(32);
    private readonly modulus: bigint;
    private readonly source = new Set<string>();
    /** Candidate units (values on both sides), by their hash. */
    private readonly found = new Map<string, string>();
    sampledTarget = 0;

    constructor(
        readonly rule: Rule,
        rows: number,
        sampleUnits = SAMPLE_UNITS,
    ) {
        this.modulus = BigInt(sampleModulus(rows, sampleUnits));
    }

    private sampled(unit: string): string | undefined {
        const h = createHmac("sha256", this.key).update(unit).digest();
        if (this.modulus > 1n && h.readBigUInt64BE(0) % this.modulus !== 0n) return undefined;
        return h.toString("base64", 0, 16);
    }

    addSource(value: string | null): void {
        for (const unit of unitsOf(this.rule, value)) {
            const h = this.sampled(unit);
            if (h) this.source.add(h);
        }
    }

    addTarget(value: string | null): void {
        for (const unit of unitsOf(this.rule, value)) {
            if (this.rule.kind === "fixed" && unit === fixedText(this.rule.value)) continue;
            const h = this.sampled(unit);
            if (!h) continue;
            this.sampledTarget++;
            if (this.source.has(h)) this.found.set(h, unit);
        }
    }

    /** The units seen on both sides (values in memory only; never printed). */
    candidates(): string[] {
        return [...this.found.values()];
    }

    /** Whether the sample was the whole column. */
    get whole(): boolean {
        return this.modulus === 1n;
    }
}

function fixedText(v: string | number | boolean | null): string | undefined {
    return v === null ? undefined : String(v);
}
