/**
 * The fake Neon's data plane (FakeNeon's `dataPlane` option): each Neon
 * database of each branch is a real database of its own on a test
 * PostgreSQL cluster, so branching, restoring and masking can be checked on
 * real data. FakeNeon decides what happens; this does it on the cluster.
 *
 * - Physical names are deterministic (physicalDatabaseName).
 * - A branch's copy of its parent is pg_dump -Fc | pg_restore: CREATE
 *   DATABASE … TEMPLATE fails while anyone is connected to the parent, and
 *   a fake must not end other sessions to copy.
 * - Roles are cluster-wide: a Neon role is one cluster role (LOGIN CREATEDB, as neon_superuser members are, with the
 *   last password Neon handed out for that name); the suite's cluster trusts
 *   every connection anyway, so older passwords of the same name still work.
 * - Work runs one step at a time, in the order FakeNeon asked for it.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as path from "path";
import { Client } from "pg";
/** Where pg_dump and pg_restore are by default (the test cluster's binaries). */
const REAL_PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface DataPlaneOptions {
    /** A superuser URL of the cluster (any database; `postgres` is fine). */
    adminUrl: string;
    /** Where pg_dump and pg_restore are; default PG_BIN or /usr/lib/postgresql/15/bin. */
    pgBin?: string;
}

const MAX_IDENTIFIER = 63;

function clean(s: string): string {
    return s.toLowerCase().replace(/[^a-z0-9]+/g, "_");
}

/**
 * `nb_<branch id>_<database>`, lowercased, runs of other characters made `_`. When that changed the
 * database name (`a-b` and `a_b` would meet) or is longer than PostgreSQL's 63 bytes, it is cut and a
 * hash of the exact pair appended, so different pairs keep different names.
 */
export function physicalDatabaseName(branchId: string, database: string): string {
    const db = clean(database);
    const plain = `nb_${clean(branchId)}_${db}`;
    if (db === database && plain.length <= MAX_IDENTIFIER) return plain;
    const hash = createHash("sha256").update(`${branchId}\0${database}`).digest("hex").slice(0, 10);
    return `${plain.slice(0, MAX_IDENTIFIER - hash.length - 1)}_${hash}`;
}

function ident(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

function literal(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

export class NeonDataPlane {
    /** host:port of the cluster, where every endpoint of the fake is. */
    readonly hostPort: string;
    private readonly admin: URL;
    private readonly pgBin: string;
    /** Physical databases that exist because of this fake (dropped by dropAll and stop). */
    private readonly databases = new Set<string>();
    /** Roles this fake created (not those the cluster already had). */
    private readonly roles = new Set<string>();
    private queue: Promise<void> = Promise.resolve();

    constructor(options: DataPlaneOptions) {
        this.admin = new URL(options.adminUrl);
        if (!this.admin.port) this.admin.port = "5432";
        this.hostPort = `${this.admin.hostname}:${this.admin.port}`;
        this.pgBin = options.pgBin ?? REAL_PG_BIN;
    }

    /** A superuser URL of a physical database (what a test reads or checks a branch through). */
    url(database: string): string {
        const u = new URL(this.admin.href);
        u.pathname = `/${encodeURIComponent(database)}`;
        return u.href;
    }

    /** Physical databases this fake made that still exist (after the queued work). */
    async existing(): Promise<string[]> {
        await this.settled();
        return [...this.databases].sort();
    }

    /** Runs `work` after everything asked for before it; its own failure is the returned promise's only. */
    enqueue(work: () => Promise<void>): Promise<void> {
        const done = this.queue.then(work);
        this.queue = done.catch(() => undefined);
        return done;
    }

    /** Resolves once all work asked for so far has run (failed or not). */
    settled(): Promise<void> {
        return this.queue;
    }

    // ---- steps (each run inside enqueue) -------------------------------------

    /** The role exists, can log in, and has this password. */
    async ensureRole(name: string, password: string): Promise<void> {
        await this.withAdmin(async (c) => {
            const { rowCount } = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]);
            if (rowCount) {
                await c.query(`ALTER ROLE ${ident(name)} LOGIN CREATEDB PASSWORD ${literal(password)}`);
            } else {
                await c.query(`CREATE ROLE ${ident(name)} LOGIN CREATEDB PASSWORD ${literal(password)}`);
                this.roles.add(name);
            }
        });
    }

    async createDatabase(name: string, owner: string): Promise<void> {
        await this.withAdmin((c) => c.query(`CREATE DATABASE ${ident(name)} OWNER ${ident(owner)}`));
        this.databases.add(name);
    }

    /** `to` gets `from`'s schema and (unless schemaOnly) data as they are now; both stay independent. */
    async copyDatabase(from: string, to: string, owner: string, schemaOnly = false): Promise<void> {
        await this.createDatabase(to, owner);
        const env = { ...process.env, PGPASSWORD: decodeURIComponent(this.admin.password) };
        const dump = spawn(path.join(this.pgBin, "pg_dump"), ["-Fc", ...(schemaOnly ? ["--schema-only"] : []), "-d", this.dsn(from)], {
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        const restore = spawn(path.join(this.pgBin, "pg_restore"), ["--exit-on-error", "-d", this.dsn(to)], {
            env,
            stdio: ["pipe", "ignore", "pipe"],
        });
        // pg_restore stopping early (--exit-on-error) breaks the pipe: its exit code tells, not an EPIPE thrown here.
        restore.stdin.on("error", () => undefined);
        dump.stdout.pipe(restore.stdin);
        const [dumped, restored] = await Promise.all([exited(dump), exited(restore)]);
        if (dumped.code !== 0 || restored.code !== 0) {
            throw new Error(
                `copying database ${from} to ${to} failed: pg_dump exited ${dumped.code} (${dumped.stderr.trim()}), ` +
                    `pg_restore exited ${restored.code} (${restored.stderr.trim()})`,
            );
        }
    }

    async dropDatabase(name: string): Promise<void> {
        await this.withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
        this.databases.delete(name);
    }

    /** Ends the sessions on `from` first, as Neon restarts the compute of a branch it changes this way. */
    async renameDatabase(from: string, to: string): Promise<void> {
        await this.withAdmin(async (c) => {
            await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [from]);
            await c.query(`ALTER DATABASE ${ident(from)} RENAME TO ${ident(to)}`);
        });
        this.databases.delete(from);
        this.databases.add(to);
    }

    async setOwner(name: string, owner: string): Promise<void> {
        await this.withAdmin((c) => c.query(`ALTER DATABASE ${ident(name)} OWNER TO ${ident(owner)}`));
    }

    /** Drops every database this fake made. */
    async dropAll(): Promise<void> {
        for (const name of [...this.databases]) await this.dropDatabase(name);
    }

    /** After the queued work: drops the databases, then the roles this fake created. */
    async stop(): Promise<void> {
        await this.settled();
        await this.dropAll();
        await this.withAdmin(async (c) => {
            for (const role of [...this.roles]) {
                try {
                    await c.query(`DROP ROLE IF EXISTS ${ident(role)}`);
                    this.roles.delete(role);
                } catch (err) {
                    // 2BP01: the role owns objects elsewhere on the cluster (a test's own database); the cluster is thrown away with it.
                    if ((err as { code?: string }).code !== "2BP01") throw err;
                }
            }
        });
    }

    /** The URL without its password (that goes in PGPASSWORD, not in argv). */
    private dsn(database: string): string {
        const u = new URL(this.url(database));
        u.password = "";
        return u.href;
    }

    private async withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
        const c = new Client({ connectionString: this.admin.href });
        await c.connect();
        try {
            return await fn(c);
        } finally {
            await c.end();
        }
    }
}

function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stderr }));
    });
}
