/**
 * Two databases' schema catalogs (fingerprint.ts's object -> definition maps) and
 * migration histories compared, object by object, and the difference in words:
 * `column orders.note: text on staging, missing on prod`. Pure.
 */
import { CatalogNames, OBJECT_KINDS, parseKey, RELATION_KINDS, splitSqlName } from "./catalog";

export interface ObjectDifference {
    /** The catalog key: `column public.orders.note`. */
    key: string;
    kind: string;
    name: string;
    /** The definition on each side; undefined where the object is missing. */
    a?: string;
    b?: string;
    /**
     * For a relation on one side only: the keys of its columns, constraints,
     * indexes and triggers, which are missing with it and not listed apart.
     */
    members?: string[];
}

export interface CatalogDiff {
    /** Objects only on the first side (relations with their members folded in). */
    onlyA: ObjectDifference[];
    onlyB: ObjectDifference[];
    /** Objects on both sides whose definitions differ. */
    differ: ObjectDifference[];
    /** How many objects both sides hold with the same definition. */
    same: number;
}

const KIND_ORDER = new Map<string, number>(OBJECT_KINDS.map((k, i) => [k, i]));

function byKindThenName(x: ObjectDifference, y: ObjectDifference): number {
    const k = (KIND_ORDER.get(x.kind) ?? 99) - (KIND_ORDER.get(y.kind) ?? 99);
    return k !== 0 ? k : x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
}

/** The relation (`public.orders`) an index definition is on: `CREATE INDEX i ON [ONLY] public.orders USING …`. */
export function indexTarget(def: string): string | undefined {
    const m = /^CREATE (?:UNIQUE )?INDEX (?:"(?:[^"]|"")*"|\S+) ON (?:ONLY )?(.+?) USING /.exec(def);
    const parts = m ? splitSqlName(m[1]) : undefined;
    return parts && parts.length === 2 ? parts.join(".") : undefined;
}

/** The relation a catalog entry belongs to (columns, constraints, triggers, indexes), if any. */
export function ownerOf(key: string, def: string, names: CatalogNames): string | undefined {
    const { kind, name } = parseKey(key);
    if (kind === "column" || kind === "constraint" || kind === "trigger") return names.splitMember(name)?.[0];
    if (kind === "index") return indexTarget(def);
    return undefined;
}

/** Compares two catalogs; every key lands in exactly one of onlyA, onlyB, differ (or, folded, in a member list) or same. */
export function diffCatalogs(a: Record<string, string>, b: Record<string, string>): CatalogDiff {
    const onlyA: ObjectDifference[] = [];
    const onlyB: ObjectDifference[] = [];
    const differ: ObjectDifference[] = [];
    let same = 0;
    const has = (o: Record<string, string>, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const { kind, name } = parseKey(key);
        const inA = has(a, key);
        const inB = has(b, key);
        if (inA && inB) {
            if (a[key] === b[key]) same++;
            else differ.push({ key, kind, name, a: a[key], b: b[key] });
        } else if (inA) onlyA.push({ key, kind, name, a: a[key] });
        else onlyB.push({ key, kind, name, b: b[key] });
    }
    return {
        onlyA: fold(onlyA, a, new CatalogNames(a)).sort(byKindThenName),
        onlyB: fold(onlyB, b, new CatalogNames(b)).sort(byKindThenName),
        differ: differ.sort(byKindThenName),
        same,
    };
}

/** A relation missing on the other side takes its members (missing with it) into its own entry. */
function fold(only: ObjectDifference[], catalog: Record<string, string>, names: CatalogNames): ObjectDifference[] {
    const relations = new Map<string, ObjectDifference>();
    for (const d of only) if (RELATION_KINDS.includes(d.kind as never)) relations.set(d.name, d);
    if (!relations.size) return only;
    const kept: ObjectDifference[] = [];
    for (const d of only) {
        const owner = ownerOf(d.key, catalog[d.key], names);
        const relation = owner !== undefined ? relations.get(owner) : undefined;
        if (relation) (relation.members ??= []).push(d.key);
        else kept.push(d);
    }
    for (const r of relations.values()) r.members?.sort();
    return kept;
}

/** What a side's history says of a version (keel_schema_history). */
export interface HistoryEntry {
    version: string;
    name: string;
    checksum: string;
    status: string;
}

export interface HistoryDifference {
    version: string;
    name: string;
    /** The row on each side; undefined where the version is not recorded. */
    a?: HistoryEntry;
    b?: HistoryEntry;
}

/** Versions recorded on one side only, or recorded differently (checksum, status). */
export function diffHistories(a: HistoryEntry[], b: HistoryEntry[]): HistoryDifference[] {
    const inA = new Map(a.map((r) => [r.version, r]));
    const inB = new Map(b.map((r) => [r.version, r]));
    const out: HistoryDifference[] = [];
    for (const version of new Set([...inA.keys(), ...inB.keys()])) {
        const x = inA.get(version);
        const y = inB.get(version);
        if (x && y && x.checksum === y.checksum && x.status === y.status && x.name === y.name) continue;
        out.push({ version, name: (x ?? y)!.name, ...(x ? { a: x } : {}), ...(y ? { b: y } : {}) });
    }
    return out.sort((p, q) => compareVersionText(p.version, q.version));
}

function compareVersionText(a: string, b: string): number {
    try {
        const x = BigInt(a);
        const y = BigInt(b);
        return x < y ? -1 : x > y ? 1 : 0;
    } catch {
        return a < b ? -1 : a > b ? 1 : 0;
    }
}

// ---- In words --------------------------------------------------------------------

export interface SideLabels {
    a: string;
    b: string;
}

/** Names as people say them: `public.` left out (`orders.note`), other schemas kept (`app.orders`). */
export function displayName(name: string): string {
    return name.startsWith("public.") ? name.slice("public.".length) : name;
}

const INLINE = 100;

function isInline(def: string): boolean {
    return def.length <= INLINE && !def.includes("\n");
}

/** What a side holds of an object, before `on <side>`: its definition when short, else nothing to add. */
function held(def: string | undefined, kind: string): string {
    if (def === undefined) return "missing ";
    if (def === kind || !isInline(def)) return "";
    return `${def} `;
}

function plural(n: number, word: string): string {
    if (n === 1) return `1 ${word}`;
    return `${n} ${word === "index" ? "indexes" : `${word}s`}`;
}

/** `3 columns, 1 constraint, 2 indexes`. */
export function membersSummary(members: string[]): string {
    const counts = new Map<string, number>();
    for (const m of members) {
        const kind = parseKey(m).kind;
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return ["column", "constraint", "index", "trigger"]
        .filter((k) => counts.has(k))
        .map((k) => plural(counts.get(k)!, k))
        .join(", ");
}

/** Where two long definitions first differ, as one readable clause. */
export function firstDifference(a: string, b: string, labels: SideLabels): string {
    const la = a.split("\n");
    const lb = b.split("\n");
    let i = 0;
    while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
    const show = (line: string | undefined) => (line === undefined ? "(end)" : `\`${clip(line.trim())}\``);
    return `definitions differ at line ${i + 1}: ${show(la[i])} on ${labels.a}, ${show(lb[i])} on ${labels.b}`;
}

function clip(s: string): string {
    return s.length <= 60 ? s : `${s.slice(0, 57)}...`;
}

/** One line per difference: `column orders.note: text on staging, missing on prod`. */
export function describeObjectDifference(d: ObjectDifference, labels: SideLabels): string {
    const members = d.members?.length ? ` (${membersSummary(d.members)})` : "";
    const head = `${d.kind} ${displayName(d.name)}${members}`;
    if (d.a !== undefined && d.b !== undefined && !(isInline(d.a) && isInline(d.b))) return `${head}: ${firstDifference(d.a, d.b, labels)}`;
    return `${head}: ${held(d.a, d.kind)}on ${labels.a}, ${held(d.b, d.kind)}on ${labels.b}`;
}

function describeRow(r: HistoryEntry | undefined): string {
    if (!r) return "missing";
    return r.status === "applied" ? `applied (checksum ${r.checksum.slice(0, 12)})` : `${r.status} (checksum ${r.checksum.slice(0, 12)})`;
}

/** `version 3 (add_orders): applied on staging, missing on prod`. */
export function describeHistoryDifference(d: HistoryDifference, labels: SideLabels): string {
    const head = `version ${d.version} (${d.name})`;
    if (d.a && d.b) return `${head}: ${describeRow(d.a)} on ${labels.a}, ${describeRow(d.b)} on ${labels.b}`;
    return `${head}: ${d.a ? d.a.status : "missing"} on ${labels.a}, ${d.b ? d.b.status : "missing"} on ${labels.b}`;
}

export interface SchemaComparison {
    catalog: CatalogDiff;
    history: HistoryDifference[];
}

export function comparisonIsEqual(c: SchemaComparison): boolean {
    return !c.catalog.onlyA.length && !c.catalog.onlyB.length && !c.catalog.differ.length && !c.history.length;
}

/** The whole report: a heading per part and a line per difference. */
export function formatComparison(c: SchemaComparison, labels: SideLabels): string[] {
    const { onlyA, onlyB, differ, same } = c.catalog;
    const lines: string[] = [];
    const objects = onlyA.length + onlyB.length + differ.length;
    if (!objects) lines.push(`schema objects: the same on both (${same})`);
    else {
        const parts = [
            onlyA.length ? `${onlyA.length} only on ${labels.a}` : "",
            onlyB.length ? `${onlyB.length} only on ${labels.b}` : "",
            differ.length ? `${differ.length} different` : "",
        ].filter(Boolean);
        lines.push(`schema objects: ${parts.join(", ")} (${same} the same)`);
        for (const d of [...onlyA, ...onlyB, ...differ]) lines.push(`  ${describeObjectDifference(d, labels)}`);
    }
    if (!c.history.length) lines.push("migrations: the same history on both");
    else {
        const onlyOnA = c.history.filter((h) => h.a && !h.b).length;
        const onlyOnB = c.history.filter((h) => h.b && !h.a).length;
        const other = c.history.length - onlyOnA - onlyOnB;
        const parts = [
            onlyOnA ? `${onlyOnA} only on ${labels.a}` : "",
            onlyOnB ? `${onlyOnB} only on ${labels.b}` : "",
            other ? `${other} recorded differently` : "",
        ].filter(Boolean);
        lines.push(`migrations: ${parts.join(", ")}`);
        for (const h of c.history) lines.push(`  ${describeHistoryDifference(h, labels)}`);
    }
    return lines;
}
