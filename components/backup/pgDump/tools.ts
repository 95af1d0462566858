/**
 * Finding pg_dump and pg_restore: a pair of at least the server's major version
 * (pg_dump refuses a newer server), from KEEL_PG_BIN, Debian's versioned
 * directories or PATH.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { connect, serverVersionOf } from "./connection";
import { BackupError } from "./errors";

/** The pg_dump/pg_restore pair Keel runs, and the server they serve. */
export interface PgTools {
    dir: string;
    pgDump: string;
    pgRestore: string;
    /** e.g. `15.18` */
    version: string;
    major: number;
    /** e.g. `16.4`; absent when found without a server (list, verify). */
    serverVersion?: string;
    serverMajor?: number;
}

function parseToolVersion(text: string): { version: string; major: number } | undefined {
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text) ?? /\b(\d+)(?:\.(\d+))?/.exec(text);
    if (!m) return undefined;
    return { version: m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1], major: Number(m[1]) };
}

/** Directories that may hold pg_dump, best first: KEEL_PG_BIN alone when set; else versioned Debian dirs, newest first, then PATH. */
export function candidateBinDirs(env: Record<string, string | undefined> = process.env): string[] {
    if (env.KEEL_PG_BIN) return [env.KEEL_PG_BIN];
    const dirs: string[] = [];
    for (let n = 18; n >= 10; n--) dirs.push(`/usr/lib/postgresql/${n}/bin`);
    for (const p of (env.PATH ?? "").split(path.delimiter)) if (p && !dirs.includes(p)) dirs.push(p);
    return dirs.filter((d) => fs.existsSync(path.join(d, "pg_dump")) && fs.existsSync(path.join(d, "pg_restore")));
}

function toolIn(dir: string): PgTools | undefined {
    const pgDump = path.join(dir, "pg_dump");
    const res = spawnSync(pgDump, ["--version"], { encoding: "utf8", timeout: 10000 });
    const v = res.status === 0 ? parseToolVersion(res.stdout) : undefined;
    return v && { dir, pgDump, pgRestore: path.join(dir, "pg_restore"), ...v };
}

/** The major version a Debian-style directory is named for (`/usr/lib/postgresql/16/bin` -> 16). */
function dirMajor(dir: string): number | undefined {
    const m = /\/postgresql\/(\d+)\/bin\/?$/.exec(dir);
    return m ? Number(m[1]) : undefined;
}

/**
 * pg_dump and pg_restore of the server's major version or newer (pg_dump refuses
 * a newer server), the closest to the server first. Versioned directories are
 * tried by their names' order and PATH only when none fits, so usually one
 * `pg_dump --version` runs. The error names both versions and how to get the right ones.
 */
export function findPgTools(serverVersion: string, serverMajor: number, env: Record<string, string | undefined> = process.env): PgTools {
    const dirs = candidateBinDirs(env);
    const versioned = dirs.filter((d) => (dirMajor(d) ?? 0) >= serverMajor && !env.KEEL_PG_BIN).sort((a, b) => dirMajor(a)! - dirMajor(b)!);
    for (const d of versioned) {
        const t = toolIn(d);
        if (t && t.major >= serverMajor) return { ...t, serverVersion, serverMajor };
    }
    const found = dirs
        .filter((d) => !versioned.includes(d))
        .map(toolIn)
        .filter((t): t is PgTools => !!t);
    const usable = found.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
    if (usable.length) return { ...usable[0], serverVersion, serverMajor };
    const hint =
        `Install the PostgreSQL ${serverMajor} client tools or newer (Debian/Ubuntu: postgresql-client-${serverMajor}) ` +
        `or point KEEL_PG_BIN at the directory that holds their pg_dump and pg_restore.`;
    if (!found.length) {
        throw new BackupError(
            `pg_dump not found${env.KEEL_PG_BIN ? ` in KEEL_PG_BIN (${env.KEEL_PG_BIN})` : " (looked in /usr/lib/postgresql/<version>/bin and PATH)"}; ` +
                `the server is PostgreSQL ${serverVersion}. ${hint}`,
        );
    }
    const newest = [...found].sort((a, b) => b.major - a.major)[0];
    throw new BackupError(
        `pg_dump ${newest.version} (${newest.pgDump}) is older than the server, PostgreSQL ${serverVersion}: ` +
            `pg_dump cannot dump a server of a newer major version. ${hint}`,
    );
}

/** The newest pg_restore around, for work without a server (verify, list): the first working candidate. */
export function newestPgTools(env: Record<string, string | undefined> = process.env): PgTools {
    for (const d of candidateBinDirs(env)) {
        const t = toolIn(d);
        if (t) return t;
    }
    throw new BackupError("pg_restore not found (looked in KEEL_PG_BIN, /usr/lib/postgresql/<version>/bin and PATH).");
}

/** Tools for the server at `url`. */
export async function pgToolsFor(url: string, env: Record<string, string | undefined> = process.env): Promise<PgTools> {
    const client = await connect(url, "keel-backup");
    try {
        const v = await serverVersionOf(client);
        return findPgTools(v.text, v.major, env);
    } finally {
        await client.end().catch(() => undefined);
    }
}
