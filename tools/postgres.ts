/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp
 * dir, start on a free port (as the `postgres` user when we are root, since
 * PostgreSQL refuses to run as root), fresh databases on it, and
 * stop-and-delete at the end, also when the run fails or is interrupted.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { freePort } from "./objectStores";

export { freePort };

const PASSWORD = "s3cret-test-password";

function binDir(): string {
    const candidates = [process.env.PG_BIN, "/usr/lib/postgresql/15/bin"];
    for (const c of candidates) if (c && fs.existsSync(path.join(c, "initdb"))) return c;
    try {
        return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    } catch {
        throw new Error("PostgreSQL server binaries not found: install postgresql-15 or set PG_BIN to the directory holding initdb.");
    }
}

export class PostgresCluster {
    private counter = 0;
    private stopped = false;
    private readonly onExit = () => this.stopSync();

    private constructor(
        readonly dir: string,
        readonly port: number,
        private readonly bin: string,
        private readonly asPostgres: boolean,
    ) {
        process.on("exit", this.onExit);
    }

    static async start(): Promise<PostgresCluster> {
        const bin = binDir();
        const asPostgres = process.getuid?.() === 0;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-pg-"));
        const port = await freePort();
        const cluster = new PostgresCluster(dir, port, bin, asPostgres);
        try {
            writeCertificates(dir);
            if (asPostgres) execFileSync("chown", ["-R", "postgres:postgres", dir]);
            fs.chmodSync(dir, 0o700);
            cluster.run("initdb", ["-D", cluster.dataDir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
            // TLS as well as plain connections: Neon's URLs say sslmode=require, which node-postgres verifies like
            // verify-full; a process trusting caFile (NODE_EXTRA_CA_CERTS) connects to 127.0.0.1 that way.
            cluster.run("pg_ctl", [
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                cluster.dataDir,
                "-l",
                path.join(dir, "server.log"),
                "-o",
                `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ` +
                    `-c ssl=on -c ssl_cert_file=${path.join(dir, "server.crt")} -c ssl_key_file=${path.join(dir, "server.key")}`,
            ]);
            const admin = new Client({ connectionString: cluster.url("postgres", "postgres") });
            await admin.connect();
            await admin.query(`CREATE ROLE keel LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
            await admin.end();
        } catch (err) {
            cluster.stopSync();
            throw err;
        }
        return cluster;
    }

    get dataDir(): string {
        return path.join(this.dir, "data");
    }

    /** The server log, for a failing test's message. */
    log(): string {
        try {
            return fs.readFileSync(path.join(this.dir, "server.log"), "utf8");
        } catch {
            return "";
        }
    }

    private run(tool: string, args: string[]): void {
        const exe = path.join(this.bin, tool);
        const [cmd, argv] = this.asPostgres ? ["runuser", ["-u", "postgres", "--", exe, ...args]] : [exe, args];
        const res = spawnSync(cmd, argv, { encoding: "utf8", cwd: this.dir });
        if (res.status !== 0) throw new Error(`${tool} failed (${res.status}): ${res.stderr || res.stdout}\n${this.log()}`);
    }

    /** A URL with a password, so tests can check it never leaks. */
    url(database: string, user = "keel"): string {
        const auth = user === "keel" ? `keel:${PASSWORD}` : user;
        return `postgres://${auth}@127.0.0.1:${this.port}/${database}`;
    }

    get password(): string {
        return PASSWORD;
    }

    /** The certificate authority that signed the server's certificate (for 127.0.0.1). */
    get caFile(): string {
        return path.join(this.dir, "ca.crt");
    }

    /** host:port, as a vendor API hands out a database host. */
    get hostPort(): string {
        return `127.0.0.1:${this.port}`;
    }

    /** Runs SQL as the superuser on a database of the cluster. */
    async sql(database: string, text: string): Promise<void> {
        const admin = new Client({ connectionString: this.url(database) });
        await admin.connect();
        try {
            await admin.query(text);
        } finally {
            await admin.end();
        }
    }

    /** A fresh, empty database; returns its URL. */
    async createDatabase(prefix = "t"): Promise<string> {
        const name = `${prefix}_${process.pid}_${++this.counter}`;
        const admin = new Client({ connectionString: this.url("postgres") });
        await admin.connect();
        try {
            await admin.query(`CREATE DATABASE "${name}"`);
        } finally {
            await admin.end();
        }
        return this.url(name);
    }

    async stop(): Promise<void> {
        this.stopSync();
    }

    private stopSync(): void {
        if (this.stopped) return;
        this.stopped = true;
        process.removeListener("exit", this.onExit);
        try {
            if (fs.existsSync(path.join(this.dataDir, "postmaster.pid"))) {
                this.run("pg_ctl", ["stop", "-w", "-m", "immediate", "-D", this.dataDir]);
            }
        } catch {
            // still remove the directory below
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** A throwaway certificate authority and a server certificate for 127.0.0.1 signed by it. */
function writeCertificates(dir: string): void {
    const openssl = (args: string[]) => {
        const res = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
        if (res.status !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr}`);
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=keel test CA"]);
    openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    fs.chmodSync(path.join(dir, "server.key"), 0o600);
}

// Interrupted runs (Ctrl-C, CI cancelling) still remove their clusters: exiting runs each one's stop.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

/** One query on a connection of its own; the rows (tests and benchmarks). */
export async function queryRows<T = any>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
        return (await c.query(text, params)).rows;
    } finally {
        await c.end();
    }
}
