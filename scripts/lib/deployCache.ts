/**
 * Deploys already read from a state backend, kept on this machine between
 * runs so a list of 200 deploys reads only what is new. A self-managed
 * backend's history and checkpoint objects never change once written (their
 * names carry the update's time): an entry is keyed by the object's key and
 * tag (ETag or generation, and size), so a rewritten object is read again.
 * Pulumi Cloud's versions are immutable too: keyed by version and start time.
 * One JSON file per backend and stack; a cache that cannot be read or written
 * is only slower, never wrong.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { StoredObject } from "./stateStore";

interface CacheFile {
    format: 1;
    entries: Record<string, { tag: string; record: unknown }>;
}

const SECRET_MARK = { $keelSecret: true };

export class DeployCache {
    private readonly file: string;
    private data: CacheFile = { format: 1, entries: {} };
    private dirty = false;

    constructor(dir: string, scope: string) {
        this.file = path.join(dir, `${createHash("sha256").update(scope).digest("hex").slice(0, 24)}.json`);
        try {
            const read = JSON.parse(fs.readFileSync(this.file, "utf8"));
            if (read?.format === 1 && read.entries) this.data = read;
        } catch {
            // No cache yet, or an unreadable one: start over.
        }
    }

    private static tagOf(history: StoredObject, checkpoint: StoredObject | undefined): string {
        return `${history.tag}|${checkpoint?.tag ?? "-"}`;
    }

    has(history: StoredObject, checkpoint: StoredObject | undefined): boolean {
        return this.data.entries[history.key]?.tag === DeployCache.tagOf(history, checkpoint);
    }

    get<T extends object>(history: StoredObject, checkpoint: StoredObject | undefined): T | undefined {
        return this.has(history, checkpoint) ? (revive(this.data.entries[history.key].record) as T) : undefined;
    }

    set(history: StoredObject, checkpoint: StoredObject | undefined, record: object): void {
        this.data.entries[history.key] = { tag: DeployCache.tagOf(history, checkpoint), record: flatten(record) };
        this.dirty = true;
    }

    hasExport(version: number, startTime: string): boolean {
        return this.data.entries[`v${version}`]?.tag === startTime;
    }

    getExport(version: number, startTime: string): unknown {
        return this.hasExport(version, startTime) ? this.data.entries[`v${version}`].record : undefined;
    }

    setExport(version: number, startTime: string, exported: unknown): void {
        this.data.entries[`v${version}`] = { tag: startTime, record: exported };
        this.dirty = true;
    }

    /** The entries as JSON, to share (a digest beside the state: scripts/lib/stackHistory.ts). */
    entriesJson(): string {
        return JSON.stringify(this.data.entries);
    }

    /** Adds the entries of a shared digest this cache does not hold; how many were added. A digest that does not parse adds none. */
    mergeEntries(json: string): number {
        let entries: unknown;
        try {
            entries = JSON.parse(json);
        } catch {
            return 0;
        }
        if (!entries || typeof entries !== "object") return 0;
        let added = 0;
        for (const [key, e] of Object.entries(entries as CacheFile["entries"])) {
            if (this.data.entries[key] || typeof e?.tag !== "string") continue;
            this.data.entries[key] = e;
            added++;
        }
        if (added) this.dirty = true;
        return added;
    }

    save(): void {
        if (!this.dirty) return;
        try {
            fs.mkdirSync(path.dirname(this.file), { recursive: true });
            const tmp = `${this.file}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, JSON.stringify(this.data));
            fs.renameSync(tmp, this.file);
            this.dirty = false;
        } catch {
            // A read-only checkout: the next run reads the objects again.
        }
    }
}

/** JSON for a record holding SECRET symbols and Dates. */
function flatten(v: unknown): unknown {
    if (typeof v === "symbol") return SECRET_MARK;
    if (v instanceof Date) return { $keelDate: v.toISOString() };
    if (Array.isArray(v)) return v.map(flatten);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flatten(x)]));
    return v;
}

function revive(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o.$keelSecret === true && Object.keys(o).length === 1) return SECRET;
        if (typeof o.$keelDate === "string" && Object.keys(o).length === 1) return new Date(o.$keelDate);
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
    }
    return v;
}

// The one SECRET symbol, shared with stackHistory (Symbol.for: the same value wherever it is made).
export const SECRET = Symbol.for("keel.secret");
