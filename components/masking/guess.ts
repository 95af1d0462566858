/**
 * Guessing a column's masking strategy from its name and type, for `db:mask init`
 * and for the line the exhaustiveness check proposes. A guess is a start, never a
 * decision: every guess other than `keep` is written with a `# review` comment.
 */
import { SimpleStrategy, yamlKey } from "./rules";

export interface ColumnInfo {
    table: string;
    column: string;
    /** The SQL type as written or as the catalog names it (`text`, `character varying(80)`, `jsonb`, `inet`). */
    type: string;
    /** Where the column was added, when known. */
    source?: { file: string; line: number };
}

export interface Guess {
    strategy: SimpleStrategy;
    /** Why, for the review comment. */
    reason: string;
}

/** Splits a column name into lower-case words: `userEmail`, `user_email`, `USER-EMAIL` → user, email. */
function words(name: string): string[] {
    return name
        .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter((w) => w.length > 0);
}

/** The guessed strategy of a column from its name and type. */
export function guessStrategy(column: string, type: string): Guess {
    const w = words(column);
    const joined = w.join("_");
    const has = (...ws: string[]) => ws.some((x) => w.includes(x));
    const t = type.toLowerCase().trim();
    if (/password|passwd|secret|token|api_?key|private_?key|salt/.test(joined) || has("otp", "totp", "pin")) {
        return { strategy: "hash", reason: "a secret: hashed so unique lookups still work; consider null if the column is nullable" };
    }
    if (has("ip") || /ip_?addr|remote_addr/.test(joined) || /^(inet|cidr)\b/.test(t)) {
        return { strategy: "hash", reason: "an IP address" };
    }
    if (has("email", "mail") || /e_?mail/.test(joined)) return { strategy: "email", reason: "an email address" };
    if (has("phone", "mobile", "tel", "telephone", "fax", "msisdn", "cell")) return { strategy: "phone", reason: "a phone number" };
    if (
        /^(first|last|full|given|family|middle|display|legal|preferred|maiden|nick|contact|sur|user)?_?name$/.test(joined) ||
        has("surname", "firstname", "lastname", "fullname")
    ) {
        return { strategy: "name", reason: "a person's name" };
    }
    if (has("address", "street", "addr", "city", "postcode", "zip", "zipcode", "postal"))
        return { strategy: "text", reason: "part of an address" };
    return { strategy: "keep", reason: "" };
}

/** Whether a type is json or jsonb (whose personal paths need `json:` rules). */
export function isJsonType(type: string): boolean {
    return /^jsonb?\b/i.test(type.trim());
}

/** The rules-file line of one column, indented under its table, with a review comment when it needs one. */
export function ruleLine(column: ColumnInfo): string {
    const g = guessStrategy(column.column, column.type);
    const comment =
        g.strategy !== "keep"
            ? `  # review: guessed ${g.reason}`
            : isJsonType(column.type)
              ? "  # review: json; add { json: { <path>: <strategy> } } for personal paths"
              : "";
    return `  ${yamlKey(column.column)}: ${g.strategy}${comment}`;
}

/** A whole rules file for the columns (tables in order of first appearance), every non-keep guess marked `# review`. */
export function renderRulesFile(columns: ColumnInfo[]): string {
    const tables = new Map<string, ColumnInfo[]>();
    const seen = new Set<string>();
    for (const c of columns) {
        const id = JSON.stringify([c.table, c.column]);
        if (seen.has(id)) continue;
        seen.add(id);
        if (!tables.has(c.table)) tables.set(c.table, []);
        tables.get(c.table)!.push(c);
    }
    const out = [
        "# Masking rules: how each column is masked when data is copied out of a production-like stack.",
        "# Strategies: email, name, phone, text, hash, null, keep, { fixed: <value> }, { sql: <expression> },",
        "# { text: { pattern: '<regex>' } }, { json: { <path>: <strategy> } }. See components/masking/rules.ts.",
        "# Written from guesses: check every line marked '# review', then delete the comment.",
    ];
    for (const [table, cols] of tables) {
        out.push("", `${yamlKey(table)}:`);
        for (const c of cols) out.push(ruleLine(c));
    }
    return out.join("\n") + "\n";
}
