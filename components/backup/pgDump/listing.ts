/** A stack's backups on disk: listing (from sidecars, else file names), pruning, finding one by id. */
import * as fs from "fs";
import * as path from "path";
import type { BackupRecord } from "../types";
import { RestoreError } from "./errors";
import { fileSize } from "./process";

const DUMP_NAME = /^(\d{8}T\d{9}Z)_before_([0-9A-Za-z_-]+)\.dump$/;

/** The stack's backups, newest first; a dump without its sidecar is listed from its name. */
export function listDumps(dir: string, stack: string): BackupRecord[] {
    const stackDir = path.resolve(dir, stack);
    if (!fs.existsSync(stackDir)) return [];
    const records: BackupRecord[] = [];
    for (const name of fs.readdirSync(stackDir)) {
        const m = DUMP_NAME.exec(name);
        if (!m) continue;
        const file = path.join(stackDir, name);
        let record: BackupRecord;
        try {
            record = { ...JSON.parse(fs.readFileSync(`${file}.json`, "utf8")), location: file, id: name };
        } catch {
            const t = m[1];
            record = {
                id: name,
                kind: "pg_dump",
                stack,
                takenAt: `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`,
                schemaVersion: "",
                beforeVersion: m[2] === "manual" ? "" : m[2],
                location: file,
                sizeBytes: fileSize(file),
            };
        }
        records.push(record);
    }
    return records.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/**
 * Keeps the newest `keep` backups of the stack; removes older dumps and their
 * sidecars, and partial files a killed run left over a day ago. Returns the removed ids.
 */
export function pruneDumps(dir: string, stack: string, keep: number, now = Date.now()): string[] {
    const removed: string[] = [];
    const stackDir = path.resolve(dir, stack);
    for (const name of fs.existsSync(stackDir) ? fs.readdirSync(stackDir) : []) {
        const partial = /^\.(.*_before_.*\.dump)\.partial$/.exec(name);
        if (!partial) continue;
        const file = path.join(stackDir, name);
        if (now - fs.statSync(file).mtimeMs > 86_400_000) {
            fs.rmSync(file, { force: true });
            removed.push(name);
        }
    }
    for (const r of listDumps(dir, stack).slice(Math.max(1, keep))) {
        fs.rmSync(r.location, { force: true });
        fs.rmSync(`${r.location}.json`, { force: true });
        removed.push(r.id);
    }
    return removed;
}

/** Finds a backup of the stack by id (file name, or a unique prefix of it). */
export function findDump(dir: string, stack: string, id: string): BackupRecord {
    const all = listDumps(dir, stack);
    const exact = all.find((r) => r.id === id || r.id === `${id}.dump`);
    if (exact) return exact;
    const prefixed = all.filter((r) => r.id.startsWith(id));
    if (prefixed.length === 1) return prefixed[0];
    throw new RestoreError(
        prefixed.length
            ? `'${id}' matches ${prefixed.length} backups of '${stack}': ${prefixed.map((r) => r.id).join(", ")}`
            : `No backup '${id}' for stack '${stack}' in ${dir}; 'npm run db:backups -- --stack ${stack}' lists them.`,
    );
}
