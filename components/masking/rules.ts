/**
 * Masking rules as code: the parser and validator of `db/masking.yaml`.
 *
 * The file classifies every column of every table: each table is a key at the top
 * level, each of its columns a key under it, and each column's value says how its
 * values are masked when data is copied out of a production-like stack:
 *
 * ```yaml
 * # db/masking.yaml
 * accounts:
 *   id: keep                  # not personal: copied as it is
 *   email: email              # u<hex>@example.com, same input → same output
 *   full_name: name           # "Ada Moreno 1f3a…", a plausible name, distinct per input
 *   phone: phone              # "+31 6 1234 5678" → "+94 2 0871 3306": digits replaced, punctuation kept
 *   bio: text                 # replaced whole by filler words of about the same length
 *   notes:                    # only what the pattern matches is replaced (digits by digits,
 *     text: { pattern: '\d{3}-\d{2}-\d{4}' }   #  letters by letters), the rest kept
 *   api_token: hash           # hex HMAC-SHA256 of the value
 *   reset_code: null          # always NULL
 *   country: { fixed: NL }    # always this value
 *   born_on: { sql: "date_trunc('year', born_on)" }   # any SQL expression, run in the database
 *   profile:                  # json/jsonb: rules by path, everything else kept
 *     json:
 *       address.street: text
 *       contacts[*].email: email
 *       "$.phones[*]": phone
 * ```
 *
 * Strategies: `email`, `name`, `phone`, `text`, `hash`, `null`, `keep` (written as a
 * plain word), and `{ text: { pattern: <regex> } }`, `{ fixed: <value> }`,
 * `{ sql: <expression> }`, `{ json: { <path>: <strategy>, … } }` (written as a
 * one-key mapping). A json path is dot-separated keys, each optionally followed by
 * `[*]` (every element) or `[<n>]` (one element), with an optional leading `$.`;
 * a key that is not a plain word is quoted with `["…"]`. Strategies inside a json
 * rule are the same except `sql` and `json`. NULL in gives NULL out for every strategy.
 *
 * Validation reports every problem of the file at once, each with the file, line,
 * key, what is wrong and how to fix it (see {@link MaskingRulesError}).
 */
import { Document, isMap, isScalar, LineCounter, Pair, parseDocument, Scalar, YAMLMap } from "yaml";
import { KeelError } from "../errors";

/** Where the rules file lives, relative to the repository root. */
export const MASKING_RULES_FILE = "db/masking.yaml";

/** The strategies written as a plain word. */
export const SIMPLE_STRATEGIES = ["email", "name", "phone", "text", "hash", "null", "keep"] as const;
export type SimpleStrategy = (typeof SIMPLE_STRATEGIES)[number];
/** The strategies written as a one-key mapping. */
export const MAPPING_STRATEGIES = ["text", "fixed", "sql", "json"] as const;

export type FixedValue = string | number | boolean | null;

/** A json path step: a key, or an array element (`*` for every one). */
export type JsonPathStep = { key: string } | { index: number | "*" };

export interface JsonPathRule {
    /** The path as written. */
    path: string;
    steps: JsonPathStep[];
    rule: ScalarRule;
    line: number;
}

/** A rule that masks one value (also usable at a json path). */
export type ScalarRule = { kind: SimpleStrategy } | { kind: "text"; pattern: RegExp } | { kind: "fixed"; value: FixedValue };

export type Rule = ScalarRule | { kind: "sql"; sql: string } | { kind: "json"; paths: JsonPathRule[] };

export interface ColumnRule {
    column: string;
    rule: Rule;
    /** The line of the column's key in the rules file. */
    line: number;
}

export interface TableRules {
    table: string;
    line: number;
    columns: ColumnRule[];
}

export interface MaskingRules {
    file: string;
    tables: TableRules[];
}

export interface MaskingProblem {
    file: string;
    line: number;
    /** The key path, for example `accounts.email` or `accounts.profile.json.address`. */
    key: string;
    message: string;
    fix: string;
}

/** A rules file that does not validate; lists every problem at once. */
export class MaskingRulesError extends KeelError {
    constructor(readonly problems: MaskingProblem[]) {
        super(
            `The masking rules have ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${p.file}:${p.line}: ${p.key}: ${p.message}\n    fix: ${p.fix}`).join("\n"),
            "MaskingRulesError",
        );
    }
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
    const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diag = prev[0];
        prev[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const up = prev[j];
            prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
            diag = up;
        }
    }
    return prev[b.length];
}

/** The candidate nearest to `word` when it is near enough to be a typo, else undefined. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) [best, bestDistance] = [c, d];
    }
    return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Parses a json path (`a.b[*].c`, `$.a[0]`, `["odd key"].x`); returns a message when it cannot. */
export function parseJsonPath(path: string): JsonPathStep[] | string {
    let rest = path.startsWith("$") ? path.slice(1) : path;
    const steps: JsonPathStep[] = [];
    let first = !path.startsWith("$");
    while (rest.length > 0) {
        let m: RegExpMatchArray | null;
        if ((m = rest.match(/^\[(\*|\d+)\]/))) {
            if (steps.length === 0 && first) return `'${path}' starts with an array step; write it as '$${m[0]}…'`;
            steps.push({ index: m[1] === "*" ? "*" : Number(m[1]) });
        } else if ((m = rest.match(/^\["((?:[^"\\]|\\.)*)"\]/))) {
            steps.push({ key: m[1].replace(/\\(.)/g, "$1") });
        } else if ((m = rest.match(first ? /^([A-Za-z_][A-Za-z0-9_-]*)/ : /^\.([A-Za-z_][A-Za-z0-9_-]*)/))) {
            steps.push({ key: m[1] });
        } else {
            return `'${path}' is not a path Keel reads at '${rest}'`;
        }
        first = false;
        rest = rest.slice(m[0].length);
    }
    if (steps.length === 0) return `'${path}' names no key`;
    return steps;
}

/** Parses and validates the rules file's text; throws {@link MaskingRulesError} with every problem at once. */
export function parseMaskingRules(text: string, file: string = MASKING_RULES_FILE): MaskingRules {
    const lineCounter = new LineCounter();
    const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: false });
    const problems: MaskingProblem[] = [];
    const lineOf = (node: { range?: [number, number, number] | null } | null | undefined, fallback = 1): number =>
        node?.range ? lineCounter.linePos(node.range[0]).line : fallback;
    const problem = (line: number, key: string, message: string, fix: string) => problems.push({ file, line, key, message, fix });

    for (const e of doc.errors) {
        problem(
            lineCounter.linePos(e.pos[0]).line,
            "(file)",
            `is not valid YAML: ${e.message.split("\n")[0]}`,
            "fix the YAML syntax at that line",
        );
    }
    if (doc.errors.length > 0) throw new MaskingRulesError(problems);

    const tables: TableRules[] = [];
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) return { file, tables };
    if (!isMap(root)) {
        problem(lineOf(root), "(file)", "is not a mapping of tables", "write one key per table, each holding `column: strategy` lines");
        throw new MaskingRulesError(problems);
    }

    const seenTables = new Map<string, number>();
    for (const pair of root.items as Pair[]) {
        const table = keyText(pair);
        const line = lineOf(pair.key as Scalar);
        if (seenTables.has(table)) {
            problem(line, table, `is listed twice (first on line ${seenTables.get(table)})`, "merge the two blocks into one");
            continue;
        }
        seenTables.set(table, line);
        const entry: TableRules = { table, line, columns: [] };
        tables.push(entry);
        const value = pair.value as YAMLMap | Scalar | null;
        if (!isMap(value)) {
            problem(line, table, "holds no columns", `write its columns under it, one a line: '  <column>: keep'`);
            continue;
        }
        const seenColumns = new Map<string, number>();
        for (const cp of value.items as Pair[]) {
            const column = keyText(cp);
            const cline = lineOf(cp.key as Scalar, line);
            const key = `${table}.${column}`;
            if (seenColumns.has(column)) {
                problem(cline, key, `is listed twice (first on line ${seenColumns.get(column)})`, "keep one of the two lines");
                continue;
            }
            seenColumns.set(column, cline);
            const rule = parseRule(cp.value, key, cline, true);
            if (rule) entry.columns.push({ column, rule, line: cline });
        }
    }
    if (problems.length > 0) throw new MaskingRulesError(problems);
    return { file, tables };

    function parseRule(node: unknown, key: string, line: number, topLevel: boolean): Rule | undefined {
        const allowedMappings = topLevel ? MAPPING_STRATEGIES : MAPPING_STRATEGIES.filter((s) => s !== "sql" && s !== "json");
        const all = `${SIMPLE_STRATEGIES.join(", ")}, or { ${allowedMappings.join(": … }, { ")}: … }`;
        if (isScalar(node)) {
            const word = node.value === null ? (node.source ?? "") : String(node.value);
            if (word === "") {
                problem(line, key, "has no strategy", `write one of ${all} after the colon`);
                return undefined;
            }
            if ((SIMPLE_STRATEGIES as readonly string[]).includes(word)) return { kind: word as SimpleStrategy };
            if ((allowedMappings as readonly string[]).includes(word)) {
                problem(line, key, `'${word}' needs a value`, `write it as { ${word}: <value> }`);
                return undefined;
            }
            const guess = nearest(word, [...SIMPLE_STRATEGIES, ...allowedMappings]);
            problem(
                line,
                key,
                `'${word}' is not a masking strategy`,
                guess ? `did you mean '${guess}'? (strategies: ${all})` : `use one of ${all}`,
            );
            return undefined;
        }
        if (!isMap(node) || node.items.length !== 1) {
            problem(
                line,
                key,
                "is not a strategy",
                `write a strategy word (${SIMPLE_STRATEGIES.join(", ")}) or a one-key mapping such as { fixed: <value> }`,
            );
            return undefined;
        }
        const pair = node.items[0] as Pair;
        const kind = keyText(pair);
        const kline = lineOf(pair.key as Scalar, line);
        const value = pair.value as unknown;
        switch (kind) {
            case "fixed":
                if (!isScalar(value)) {
                    problem(kline, `${key}.fixed`, "is not a single value", "write a string, number, boolean or null: { fixed: 'n/a' }");
                    return undefined;
                }
                return { kind: "fixed", value: value.value as FixedValue };
            case "sql":
                if (!topLevel) break;
                if (!isScalar(value) || typeof value.value !== "string" || value.value.trim() === "") {
                    problem(
                        kline,
                        `${key}.sql`,
                        "is not an SQL expression",
                        `write the expression as a string: { sql: "left(${key.split(".").pop()}, 1)" }`,
                    );
                    return undefined;
                }
                return { kind: "sql", sql: value.value };
            case "text": {
                if (!isMap(value) || value.items.length !== 1 || keyText(value.items[0] as Pair) !== "pattern") {
                    const inner = isMap(value) && value.items.length === 1 ? keyText(value.items[0] as Pair) : undefined;
                    problem(
                        kline,
                        `${key}.text${inner ? `.${inner}` : ""}`,
                        inner ? `'${inner}' is not an option of text` : "holds no pattern",
                        inner && nearest(inner, ["pattern"])
                            ? "did you mean 'pattern'? write { text: { pattern: '<regex>' } }"
                            : "write { text: { pattern: '<regex>' } }, or plain 'text' to replace the whole value",
                    );
                    return undefined;
                }
                const pv = (value.items[0] as Pair).value;
                const pline = lineOf((value.items[0] as Pair).key as Scalar, kline);
                if (!isScalar(pv) || typeof pv.value !== "string" || pv.value === "") {
                    problem(
                        pline,
                        `${key}.text.pattern`,
                        "is not a regular expression",
                        "write the pattern as a quoted string: pattern: '\\d{4}'",
                    );
                    return undefined;
                }
                try {
                    const pattern = new RegExp(pv.value, "gu");
                    if (pattern.test("")) {
                        problem(
                            pline,
                            `${key}.text.pattern`,
                            `'${pv.value}' matches the empty string`,
                            "make the pattern match at least one character (use + rather than *)",
                        );
                        return undefined;
                    }
                    return { kind: "text", pattern };
                } catch (e) {
                    problem(
                        pline,
                        `${key}.text.pattern`,
                        `'${pv.value}' is not a valid regular expression: ${(e as Error).message}`,
                        "fix the pattern (JavaScript regex syntax, unicode mode; quote it with single quotes so backslashes stay)",
                    );
                    return undefined;
                }
            }
            case "json": {
                if (!topLevel) break;
                if (!isMap(value) || value.items.length === 0) {
                    problem(
                        kline,
                        `${key}.json`,
                        "holds no paths",
                        "write one '<path>: <strategy>' per line under json:, for example 'address.street: text'",
                    );
                    return undefined;
                }
                const paths: JsonPathRule[] = [];
                let ok = true;
                for (const jp of value.items as Pair[]) {
                    const path = keyText(jp);
                    const jline = lineOf(jp.key as Scalar, kline);
                    const steps = parseJsonPath(path);
                    if (typeof steps === "string") {
                        problem(
                            jline,
                            `${key}.json.${path}`,
                            steps,
                            'write keys joined by dots, [*] for every array element, [n] for one, ["…"] for a key with other characters: contacts[*].email',
                        );
                        ok = false;
                        continue;
                    }
                    const rule = parseRule(jp.value, `${key}.json.${path}`, jline, false);
                    if (!rule) ok = false;
                    else paths.push({ path, steps, rule: rule as ScalarRule, line: jline });
                }
                return ok ? { kind: "json", paths } : undefined;
            }
        }
        const guess = nearest(kind, allowedMappings);
        problem(
            kline,
            `${key}.${kind}`,
            (MAPPING_STRATEGIES as readonly string[]).includes(kind)
                ? `'${kind}' is not allowed inside a json rule`
                : `'${kind}' is not a masking strategy`,
            guess ? `did you mean '${guess}'? (mapping strategies here: ${allowedMappings.join(", ")})` : `use one of ${all}`,
        );
        return undefined;
    }
}

/** A key as written (a plain `01` stays "01", `null` stays "null"). */
function keyText(pair: Pair): string {
    const k = pair.key as Scalar | null;
    if (!isScalar(k)) return String(k);
    return k.type === "PLAIN" && k.source !== undefined ? k.source : String(k.value);
}

/** A table or column name as a YAML key: bare when it reads back as itself, else quoted. */
export function yamlKey(name: string): string {
    const reserved = /^(null|~|true|false|yes|no|on|off|y|n)$/i;
    return PLAIN_KEY.test(name) && !reserved.test(name) ? name : JSON.stringify(name);
}
