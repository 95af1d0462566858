/**
 * Physical names: what Keel calls the things it creates at a vendor when the
 * stack's config names none, built from the project and stack. Each vendor has
 * its own length and character rules; a name that does not fit is cut and ends
 * in a hash of the whole name, so it stays stable from run to run and distinct
 * from its neighbours. Names the user configures are never rewritten: config
 * validation refuses those that break the vendor's rules. Pure: no Pulumi imports.
 */
import { createHash } from "crypto";

export interface NameRule {
    /** The vendor's longest name. */
    max: number;
    /** One allowed character. */
    allowed: RegExp;
    /** Fold to lower case first. */
    lowerCase: boolean;
    /** What the name must start and end with (a DNS label: a letter or digit). */
    edges: RegExp;
}

const DNS_LABEL: Omit<NameRule, "max"> = { allowed: /[a-z0-9-]/, lowerCase: true, edges: /[a-z0-9]/ };

export const NAME_RULES = {
    /** Fly.io apps are `<app>.fly.dev`: one DNS label. */
    flyApp: { ...DNS_LABEL, max: 63 },
    /** Render services are `<name>.onrender.com` by default. */
    renderService: { ...DNS_LABEL, max: 63 },
    /** Vercel projects: lower case, up to 100 characters of letters, digits, `.`, `_` and `-`. */
    vercelProject: { max: 100, allowed: /[a-z0-9._-]/, lowerCase: true, edges: /[a-z0-9]/ },
    /** Neon projects: up to 64 characters. */
    neonProject: { max: 64, allowed: /[A-Za-z0-9._-]/, lowerCase: false, edges: /[A-Za-z0-9]/ },
    /** Docker volumes and containers: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; kept short enough to read in `docker ps`. */
    docker: { max: 128, allowed: /[A-Za-z0-9_.-]/, lowerCase: false, edges: /[A-Za-z0-9]/ },
} satisfies Record<string, NameRule>;

export type NameKind = keyof typeof NAME_RULES;

const HASH_LENGTH = 8;
const PRETTY = "abcdefhkmnorstuvwxz";

/** A short, stable hash of a name in letters that read well in a name. */
export function nameHash(name: string, length = HASH_LENGTH): string {
    let n = BigInt(`0x${createHash("sha256").update(name).digest("hex").slice(0, 24)}`);
    let out = "";
    while (out.length < length) {
        out += PRETTY[Number(n % BigInt(PRETTY.length))];
        n /= BigInt(PRETTY.length);
    }
    return out;
}

function trimEdges(s: string, edges: RegExp): string {
    let start = 0;
    let end = s.length;
    while (start < end && !edges.test(s[start])) start++;
    while (end > start && !edges.test(s[end - 1])) end--;
    return s.slice(start, end);
}

/**
 * `physicalName("flyApp", "shop", "prod")` -> `shop-prod`. Characters the vendor
 * refuses become `-` (runs of them one); a name longer than the vendor allows is
 * cut and ends in `-<hash of the whole name>`.
 */
export function physicalName(kind: NameKind, ...parts: string[]): string {
    const rule: NameRule = NAME_RULES[kind];
    const whole = parts.filter((p) => p !== "").join("-");
    const folded = rule.lowerCase ? whole.toLowerCase() : whole;
    let name = "";
    for (const ch of folded) name += rule.allowed.test(ch) ? ch : "-";
    name = trimEdges(name.replace(/-{2,}/g, "-"), rule.edges);
    if (name.length <= rule.max && name !== "") return name;
    const hash = nameHash(whole);
    const kept = trimEdges(name.slice(0, rule.max - HASH_LENGTH - 1), rule.edges);
    return kept ? `${kept}-${hash}` : hash;
}
