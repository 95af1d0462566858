/**
 * schema:adopt as a process against a real PostgreSQL whose history another
 * tool kept: dbmate 2.36.0 and node-pg-migrate 9.0.0 migrate it themselves
 * (their binaries, offline); Prisma's and Flyway's tables are written as their
 * tools write them (Prisma's CLI downloads engines, Flyway needs a JVM), with
 * their SQL applied by the test. Afterwards schema:status, the runner's plan
 * and the provider's check (what `pulumi preview` runs) see nothing pending;
 * every refusal names what refuses and writes nothing.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import { createHash, randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadMigrations, scanMigrations } from "../../components/schema/migrationSet";
import { inspectSchema, recordAdoption } from "../../components/schema/runner";
import { pendingKey, schemaMigrationsProvider } from "../../components/schema/provider";
import { cliResult, CliResult, engineSettings, historyRows, REPO_ROOT, relationExists, runCli, withClient } from "../support/migrationsDir";
import { dbmateBin } from "../support/dbmate";
import { freshDatabase, testCluster } from "../support/postgres";
import { schemaInputs } from "../support/schemaInputs";
import { tempDir } from "../support/tempDir";

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

/** A project directory: Pulumi.yaml and a dev stack whose migrations live in `keel/`. */
function project(): string {
    const root = tempDir("keel-adopt-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
    fs.writeFileSync(
        path.join(root, "Pulumi.dev.yaml"),
        "config:\n  keel:database:\n    kind: external\n  keel:migrations:\n    dir: keel\n",
    );
    return root;
}

function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
}

/** `npm run schema:adopt -- <args>` in `root`, with nobody at a terminal. */
function adopt(args: string[], url: string, root: string): Promise<CliResult> {
    return cliResult(
        spawn(
            process.execPath,
            ["-r", require.resolve("ts-node/register/transpile-only"), path.join(REPO_ROOT, "cli", "main.ts"), "schema", "adopt", ...args],
            {
                cwd: root,
                env: { ...process.env, DATABASE_URL: url, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") },
                stdio: ["ignore", "pipe", "pipe"],
            },
        ),
        { what: `schema:adopt ${args.join(" ")}`, deadlineMs: 90_000 },
    );
}

/** Runs a migration tool's bin (a path, or the name of one in node_modules/.bin) and returns what it printed. */
function tool(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
    const res = spawnSync(path.isAbsolute(bin) ? bin : path.join(REPO_ROOT, "node_modules", ".bin", bin), args, {
        cwd,
        encoding: "utf8",
        env: { ...process.env, ...env },
        // A hung tool fails here, by name, instead of blocking the whole run (spawnSync holds mocha's timers).
        timeout: 90_000,
        killSignal: "SIGKILL",
    });
    assert.equal(res.status, 0, `${path.basename(bin)} ${args.join(" ")}: ${res.error?.message ?? ""} ${res.stderr}${res.stdout}`);
    return res.stdout + res.stderr;
}

const dbmate = (url: string, root: string, ...args: string[]) =>
    tool(dbmateBin(), ["--url", `${url}?sslmode=disable`, "--migrations-dir", "db/migrations", "--no-dump-schema", ...args], root);

const nodePgMigrate = (url: string, root: string, ...args: string[]) => tool("node-pg-migrate", [...args], root, { DATABASE_URL: url });

const query = (url: string, sql: string, params: unknown[] = []) => withClient(url, async (c) => (await c.query(sql, params)).rows);

/** What `pulumi preview` computes for the schema: the provider's check of the stack's files against the database. */
async function previewPending(url: string, dir: string): Promise<string[]> {
    const checked = await schemaMigrationsProvider.check!({} as any, await schemaInputs(url, dir));
    assert.deepEqual(checked.failures ?? [], []);
    return (checked.inputs!.pending ?? []).map(pendingKey);
}

/** After an adoption: the files, the history rows and their checksums, and nothing pending for status, the runner and preview. */
async function assertAdopted(url: string, root: string, expected: { file: string; status: string }[]): Promise<void> {
    const dir = path.join(root, "keel");
    assert.deepEqual(
        fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".sql"))
            .sort(),
        expected.map((e) => e.file).sort(),
    );
    const rows = await historyRows(url);
    const sources = scanMigrations(dir);
    assert.deepEqual(
        rows.map((r) => [r.version, r.status]),
        sources
            .filter((s) => expected.find((e) => e.file === s.file)!.status !== "pending")
            .map((s) => [s.version, expected.find((e) => e.file === s.file)!.status]),
    );
    for (const r of rows) {
        const s = sources.find((f) => f.version === r.version)!;
        assert.equal(r.checksum, sha256(fs.readFileSync(path.join(dir, s.file))), `${s.file}'s checksum is recorded`);
        assert.match(r.applied_by, /schema:adopt --from/);
    }
    const pending = expected.filter((e) => e.status === "pending").map((e) => e.file.replace(/\.sql$/, ""));
    const status = await runCli(["status"], url, {}, root);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${rows.length} applied, ${pending.length} pending`));
    const { plan } = await inspectSchema(url, await loadMigrations(dir), engineSettings(), { fingerprint: false });
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(
        plan.pending.map((p) => p.file.replace(/\.sql$/, "")),
        pending,
    );
    assert.deepEqual(
        (await previewPending(url, dir)).map((p) => p.replace(/^\d+_/, "")),
        pending.map((p) => p.replace(/^\d+_/, "")),
    );
}

/** Nothing of Keel's was written: no file, no history table. */
async function assertNothingWritten(url: string, root: string): Promise<void> {
    assert.equal(fs.existsSync(path.join(root, "keel")), false, "no directory written");
    assert.equal(await relationExists(url, "public.keel_schema_history"), false, "no history table");
}

describe("schema:adopt (real histories)", function () {
    this.timeout(120000);
    let password: string;

    before(async () => {
        password = (await testCluster()).password;
    });

    describe("dbmate 2.36.0", () => {
        const files = {
            "db/migrations/20240101000000_create_users.sql":
                "-- migrate:up\nCREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);\n\n-- migrate:down\nDROP TABLE users;\n",
            "db/migrations/20240102000000_index_users_email.sql":
                "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY users_email_idx;\n",
            "db/migrations/20240103000000_create_posts.sql":
                "-- migrate:up\nCREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users);\nINSERT INTO users (email) VALUES ('a@example.com');\n\n-- migrate:down\nDROP TABLE posts;\n",
        };

        it("adopts what dbmate applied: its file names, its transaction:false as keel:no-transaction, nothing pending afterwards", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, files);
            dbmate(url, root, "migrate");
            const before = await query(url, "SELECT version FROM schema_migrations ORDER BY version");
            assert.equal(before.length, 3);

            const res = await adopt(["--from", "dbmate", "--yes"], url, root);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /applied +20240102000000_index_users_email\.sql +<- 20240102000000_index_users_email\.sql/);
            assert.match(res.stdout, /keel:no-transaction: dbmate ran it outside a transaction \(-- migrate:up transaction:false\)/);
            assert.match(res.stdout, /versions: dbmate's own/);
            assert.match(res.stdout, /3 migrations: 3 applied, 0 pending/);
            assert.ok(!res.stdout.includes(password) && !res.stderr.includes(password));

            await assertAdopted(url, root, [
                { file: "20240101000000_create_users.sql", status: "applied" },
                { file: "20240102000000_index_users_email.sql", status: "applied" },
                { file: "20240103000000_create_posts.sql", status: "applied" },
            ]);
            const index = fs.readFileSync(path.join(root, "keel", "20240102000000_index_users_email.sql"), "utf8");
            assert.match(index, /^-- keel:no-transaction\n/);
            assert.ok(index.includes("CREATE INDEX CONCURRENTLY users_email_idx ON users (email);"));
            assert.ok(!index.includes("DROP INDEX"), "the down section is not Keel's");
            const loaded = await loadMigrations(path.join(root, "keel"));
            assert.deepEqual(
                loaded.map((f) => f.directives.transaction),
                [true, false, true],
            );
            // dbmate's table is as it was, and dbmate itself still sees nothing to do.
            assert.deepEqual(await query(url, "SELECT version FROM schema_migrations ORDER BY version"), before);
            assert.match(dbmate(url, root, "status"), /Applied: 3/);
            // Nothing ran again: one user, not two.
            assert.equal((await query(url, "SELECT count(*)::int AS n FROM users"))[0].n, 1);
        });

        it("a file dbmate has not run yet becomes a pending Keel migration, which schema:apply then runs", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, files);
            dbmate(url, root, "migrate");
            writeFiles(root, {
                "db/migrations/20240104000000_add_name.sql":
                    "-- migrate:up\nALTER TABLE users ADD COLUMN name text;\n-- migrate:down\nALTER TABLE users DROP COLUMN name;\n",
            });
            const res = await adopt(["--from", "dbmate", "--yes"], url, root);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /pending +20240104000000_add_name\.sql/);
            assert.match(res.stdout, /1 pending, to run at the next schema:apply or pulumi up/);
            await assertAdopted(url, root, [
                { file: "20240101000000_create_users.sql", status: "applied" },
                { file: "20240102000000_index_users_email.sql", status: "applied" },
                { file: "20240103000000_create_posts.sql", status: "applied" },
                { file: "20240104000000_add_name.sql", status: "pending" },
            ]);
            const apply = await runCli(["apply"], url, {}, root);
            assert.equal(apply.code, 0, apply.stderr);
            assert.match(apply.stdout, /1 applied now, 4 in total/);
            assert.equal(await relationExists(url, "public.users"), true);
            assert.equal(
                (
                    await query(
                        url,
                        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'name'",
                    )
                )[0].n,
                1,
            );
        });

        it("refuses, naming it and writing nothing, when an applied migration's file is gone", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, files);
            dbmate(url, root, "migrate");
            fs.rmSync(path.join(root, "db/migrations/20240102000000_index_users_email.sql"));
            const res = await adopt(["--from", "dbmate", "--yes"], url, root);
            assert.equal(res.code, 1, res.stdout);
            assert.match(res.stderr, /dbmate's history cannot be adopted \(1 problem\); nothing was written/);
            assert.match(
                res.stderr,
                /version 20240102000000 is applied \(public\.schema_migrations records it\) but the directory has no file for it/,
            );
            await assertNothingWritten(url, root);
        });

        it("refuses a file of two sections dbmate applied: dbmate 2.36 records its version twice, so the second section failed", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, {
                "db/migrations/1_two.sql":
                    "-- migrate:up\nCREATE TABLE a (x int);\n-- migrate:down\nDROP TABLE a;\n" +
                    "-- migrate:up\nCREATE TABLE b (x int);\n-- migrate:down\nDROP TABLE b;\n",
            });
            const run = spawnSync(dbmateBin(), ["--url", `${url}?sslmode=disable`, "--no-dump-schema", "migrate"], {
                cwd: root,
                encoding: "utf8",
            });
            assert.notEqual(run.status, 0);
            assert.match(run.stderr, /duplicate key value violates unique constraint "schema_migrations_pkey"/);
            assert.equal(await relationExists(url, "public.a"), true);
            assert.equal(await relationExists(url, "public.b"), false, "the second section rolled back");
            const res = await adopt(["--from", "dbmate", "--yes"], url, root);
            assert.equal(res.code, 1, res.stdout);
            assert.match(res.stderr, /1_two\.sql: it has 2 '-- migrate:up' sections, and dbmate records the version after each/);
            await assertNothingWritten(url, root);
        });

        it("without --yes and nobody at a terminal, shows the plan and writes nothing", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, files);
            dbmate(url, root, "migrate");
            const res = await adopt(["--from", "dbmate"], url, root);
            assert.equal(res.code, 1, res.stderr);
            assert.match(res.stdout, /3 migrations: 3 applied, 0 pending/);
            assert.match(res.stdout, /not confirmed: nothing was written \(pass --yes/);
            await assertNothingWritten(url, root);
        });

        it("refuses when the stack's directory already holds migrations, or Keel already keeps a history", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, { ...files, "keel/0001_mine.sql": "SELECT 1;\n" });
            dbmate(url, root, "migrate");
            const res = await adopt(["--from", "dbmate", "--yes"], url, root);
            assert.equal(res.code, 1);
            assert.match(res.stderr, /keel already holds 1 migration \(0001_mine\.sql\): adopting starts Keel's directory/);
            assert.equal(await relationExists(url, "public.keel_schema_history"), false);

            fs.rmSync(path.join(root, "keel"), { recursive: true });
            assert.equal((await adopt(["--from", "dbmate", "--yes"], url, root)).code, 0);
            const out = tempDir("keel-adopt-out-");
            const again = await adopt(["--from", "dbmate", "--yes", "--out", out], url, root);
            assert.equal(again.code, 1);
            assert.match(again.stderr, /public\.keel_schema_history already has 3 rows: Keel already keeps this database's history/);
            assert.deepEqual(fs.readdirSync(out), []);
        });
    });

    describe("node-pg-migrate 9.0.0", () => {
        const files = {
            "pgm/1700000000000_create-users.sql":
                "-- Up Migration\nCREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);\n\n-- Down Migration\nDROP TABLE users;\n",
            "pgm/1700000000001_add-orders.sql":
                "-- Up Migration\nCREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users);\n-- Down Migration\nDROP TABLE orders;\n",
            "pgm/1700000000002_seed.sql": "INSERT INTO users (email) VALUES ('b@example.com');\n",
        };

        it("adopts what node-pg-migrate applied, its up parts only, with nothing pending afterwards", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, files);
            nodePgMigrate(url, root, "up", "-m", "pgm");
            const before = await query(url, "SELECT id, name, run_on FROM pgmigrations ORDER BY id");
            assert.equal(before.length, 3);

            const res = await adopt(["--from", "node-pg-migrate", "--dir", "pgm", "--yes"], url, root);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /versions: node-pg-migrate's own/);
            await assertAdopted(url, root, [
                { file: "1700000000000_create-users.sql", status: "applied" },
                { file: "1700000000001_add-orders.sql", status: "applied" },
                { file: "1700000000002_seed.sql", status: "applied" },
            ]);
            const users = fs.readFileSync(path.join(root, "keel", "1700000000000_create-users.sql"), "utf8");
            assert.ok(users.includes("CREATE TABLE users") && !users.includes("DROP TABLE users"));
            assert.deepEqual(await query(url, "SELECT id, name, run_on FROM pgmigrations ORDER BY id"), before);
        });

        it("refuses when an applied migration's file is gone, or a file is not SQL", async () => {
            const url = await freshDatabase();
            const root = project();
            writeFiles(root, files);
            nodePgMigrate(url, root, "up", "-m", "pgm");
            fs.rmSync(path.join(root, "pgm/1700000000001_add-orders.sql"));
            fs.writeFileSync(path.join(root, "pgm/1700000000003_backfill.js"), "exports.up = () => {};\n");
            const res = await adopt(["--from", "node-pg-migrate", "--dir", "pgm", "--yes"], url, root);
            assert.equal(res.code, 1, res.stdout);
            assert.match(res.stderr, /\(2 problems\); nothing was written/);
            assert.match(
                res.stderr,
                /1700000000003_backfill\.js: node-pg-migrate runs every file of its directory, and this one is not SQL/,
            );
            assert.match(
                res.stderr,
                /1700000000001_add-orders is applied \(public\.pgmigrations records it\) but the directory has no file for it/,
            );
            await assertNothingWritten(url, root);
            // Its default directory is Keel's default too: adopting into the directory it reads from is refused.
            const same = await adopt(["--from", "node-pg-migrate", "--dir", "pgm", "--out", "pgm", "--yes"], url, root);
            assert.equal(same.code, 1);
            assert.match(
                same.stderr,
                /pgm is both node-pg-migrate's directory and where Keel's files go: move node-pg-migrate's files elsewhere first/,
            );
            assert.ok(fs.existsSync(path.join(root, "pgm/1700000000000_create-users.sql")));
        });
    });

    describe("Prisma (its _prisma_migrations table as Prisma writes it)", () => {
        const scripts: Record<string, string> = {
            "20240101120000_init":
                '-- CreateTable\nCREATE TABLE "User" (\n    "id" SERIAL NOT NULL,\n    "email" TEXT NOT NULL,\n\n    CONSTRAINT "User_pkey" PRIMARY KEY ("id")\n);\n',
            // Alone in its script, a CONCURRENTLY statement is how Prisma runs one outside a transaction.
            "20240102120000_user_email_index": 'CREATE UNIQUE INDEX CONCURRENTLY "User_email_key" ON "User"("email");\n',
            "20240103120000_add_post":
                '-- CreateTable\r\nCREATE TABLE "Post" (\r\n    "id" SERIAL NOT NULL,\r\n    "authorId" INTEGER NOT NULL,\r\n    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")\r\n);\r\n',
        };

        async function prismaDatabase(url: string, root: string, names = Object.keys(scripts)) {
            for (const [name, sql] of Object.entries(scripts)) writeFiles(root, { [`prisma/migrations/${name}/migration.sql`]: sql });
            writeFiles(root, { "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n' });
            await query(
                url,
                `CREATE TABLE "_prisma_migrations" (
                    id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
                    migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
                    started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`,
            );
            for (const name of names) {
                await query(url, scripts[name]);
                await prismaRow(url, name, { finished: true });
            }
        }

        async function prismaRow(
            url: string,
            name: string,
            o: { finished?: boolean; rolledBack?: boolean; logs?: string; checksumOf?: string },
        ) {
            await query(
                url,
                `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
                 VALUES ($1, $2, CASE WHEN $3 THEN clock_timestamp() END, $4, $5, CASE WHEN $6 THEN clock_timestamp() END, clock_timestamp(), $7)`,
                [
                    randomUUID(),
                    sha256(o.checksumOf ?? scripts[name]),
                    !!o.finished,
                    name,
                    o.logs ?? null,
                    !!o.rolledBack,
                    o.finished ? 1 : 0,
                ],
            );
        }

        it("adopts a finished history (a script alone with CREATE INDEX CONCURRENTLY becomes keel:no-transaction)", async () => {
            const url = await freshDatabase();
            const root = project();
            await prismaDatabase(url, root);
            // A migration that failed once, was rolled back and then applied again is applied.
            await prismaRow(url, "20240103120000_add_post", { rolledBack: true, logs: "earlier attempt" });
            const res = await adopt(["--from", "prisma", "--yes"], url, root);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /keel:no-transaction: line 1 holds CREATE INDEX CONCURRENTLY/);
            await assertAdopted(url, root, [
                { file: "20240101120000_init.sql", status: "applied" },
                { file: "20240102120000_user_email_index.sql", status: "applied" },
                { file: "20240103120000_add_post.sql", status: "applied" },
            ]);
            assert.equal(
                (await query(url, `SELECT count(*)::int AS n FROM "_prisma_migrations"`))[0].n,
                4,
                "Prisma's table is left as it was",
            );
        });

        it("refuses a failed migration, a rolled-back one, an edited file and a missing one, naming each; nothing is written", async () => {
            const url = await freshDatabase();
            const root = project();
            await prismaDatabase(url, root, ["20240101120000_init", "20240102120000_user_email_index"]);
            await prismaRow(url, "20240103120000_add_post", { logs: 'Database error code: 42P07\nrelation "Post" already exists' });
            writeFiles(root, { "prisma/migrations/20240104120000_drop_it/migration.sql": "SELECT 1;\n" });
            await prismaRow(url, "20240104120000_drop_it", { rolledBack: true, checksumOf: "SELECT 1;\n" });
            await prismaRow(url, "20240105120000_gone", { finished: true, checksumOf: "SELECT 2;\n" });
            fs.appendFileSync(path.join(root, "prisma/migrations/20240101120000_init/migration.sql"), "-- edited\n");

            const res = await adopt(["--from", "prisma", "--yes"], url, root);
            assert.equal(res.code, 1, res.stdout);
            assert.match(res.stderr, /Prisma's history cannot be adopted \(4 problems\); nothing was written/);
            assert.match(res.stdout, /^ {2}FAILED {6}20240103120000_add_post\.sql/m);
            assert.match(res.stdout, /^ {2}ROLLED-BACK 20240104120000_drop_it\.sql/m);
            assert.match(res.stdout, /4 migrations: 2 applied, 1 failed, 1 rolled back, 0 pending/);
            assert.match(
                res.stderr,
                /20240103120000_add_post is recorded as failed in public\._prisma_migrations \(started .*, never finished: Database error code: 42P07\)/,
            );
            assert.match(res.stderr, /npx prisma migrate resolve --rolled-back 20240103120000_add_post/);
            assert.match(res.stderr, /20240104120000_drop_it is recorded as rolled back in public\._prisma_migrations/);
            assert.match(
                res.stderr,
                /20240105120000_gone is applied \(public\._prisma_migrations records it\) but the directory has no file for it/,
            );
            assert.match(
                res.stderr,
                /20240101120000_init\/migration\.sql was edited after it was applied: public\._prisma_migrations records checksum [0-9a-f]{64}/,
            );
            await assertNothingWritten(url, root);
        });
    });

    describe("Flyway (its flyway_schema_history table as Flyway writes it)", () => {
        const BOM = "\uFEFF";
        const scripts: Record<string, string> = {
            "V1__Create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);",
            "V1_1__Index_users.sql": "CREATE INDEX CONCURRENTLY users_id_idx ON users (id);\n",
            // A byte order mark and CRLF line ends: Flyway's checksum ignores both.
            "sub/V2__Create posts table.sql": `${BOM}CREATE TABLE posts (\r\n  id int PRIMARY KEY\r\n);\r\n`,
        };
        // CRC32 of each file's lines without their ends (and without the BOM), as Flyway computes it; worked out by Python's zlib.
        const checksums: Record<string, number> = {
            "V1__Create_users.sql": -2134990597,
            "V1_1__Index_users.sql": crcOf("CREATE INDEX CONCURRENTLY users_id_idx ON users (id);"),
            "sub/V2__Create posts table.sql": crcOf("CREATE TABLE posts (  id int PRIMARY KEY);"),
        };

        function crcOf(s: string): number {
            const res = spawnSync(
                "python3",
                ["-c", "import sys,zlib; c=zlib.crc32(sys.argv[1].encode()); print(c-(1<<32) if c>=1<<31 else c)", s],
                {
                    encoding: "utf8",
                },
            );
            return Number(res.stdout.trim());
        }

        async function flywayDatabase(url: string, root: string, extra: string[] = []) {
            writeFiles(root, Object.fromEntries(Object.entries(scripts).map(([f, t]) => [`sql/${f}`, t])));
            writeFiles(root, { "sql/V1_1__Index_users.sql.conf": "# Flyway script config\nexecuteInTransaction=false\n" });
            await query(
                url,
                `CREATE TABLE "public"."flyway_schema_history" (
                    "installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
                    "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL,
                    "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
                 ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
                 CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");`,
            );
            let rank = 0;
            for (const [file, version] of [
                ["V1__Create_users.sql", "1"],
                ["V1_1__Index_users.sql", "1.1"],
                ["sub/V2__Create posts table.sql", "2"],
                ...extra.map((e) => e.split("=")),
            ]) {
                const text = scripts[file];
                if (text && !file.startsWith("V9")) await query(url, text.replace(BOM, ""));
                const description = path
                    .basename(file)
                    .replace(/^V[^_]+(_[^_]+)*__/, "")
                    .replace(/\.sql$/, "")
                    .replace(/_/g, " ");
                await flywayRow(url, ++rank, version, description, file, checksums[file] ?? 123, true);
            }
        }

        async function flywayRow(
            url: string,
            rank: number,
            version: string,
            description: string,
            script: string,
            checksum: number | null,
            success: boolean,
        ) {
            await query(
                url,
                `INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
                 VALUES ($1, $2, $3, 'SQL', $4, $5, 'keel', 12, $6)`,
                [rank, version, description, script, checksum, success],
            );
        }

        it("adopts Flyway's versions in its order (1, 1.1, 2 as 0001, 0002, 0003), its executeInTransaction=false as keel:no-transaction", async () => {
            const url = await freshDatabase();
            const root = project();
            await flywayDatabase(url, root);
            const res = await adopt(["--from", "flyway", "--yes"], url, root);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /applied +0002_Index_users\.sql +<- V1_1__Index_users\.sql/);
            assert.match(
                res.stdout,
                /keel:no-transaction: Flyway ran it outside a transaction \(executeInTransaction=false in V1_1__Index_users\.sql\.conf\)/,
            );
            assert.match(res.stdout, /applied +0003_Create_posts_table\.sql +<- sub\/V2__Create posts table\.sql/);
            assert.match(res.stdout, /versions: numbered in Flyway's order/);
            await assertAdopted(url, root, [
                { file: "0001_Create_users.sql", status: "applied" },
                { file: "0002_Index_users.sql", status: "applied" },
                { file: "0003_Create_posts_table.sql", status: "applied" },
            ]);
            assert.ok(!fs.readFileSync(path.join(root, "keel", "0003_Create_posts_table.sql"), "utf8").includes(BOM), "no BOM mid-file");
        });

        it("refuses a failed entry, an edited file and a missing one, naming each; nothing is written", async () => {
            const url = await freshDatabase();
            const root = project();
            await flywayDatabase(url, root);
            writeFiles(root, { "sql/V3__Broken.sql": "CREATE TABLE broken (id int REFERENCES nope);\n" });
            await flywayRow(url, 4, "3", "Broken", "V3__Broken.sql", crcOf("CREATE TABLE broken (id int REFERENCES nope);"), false);
            await flywayRow(url, 5, "4", "Gone", "V4__Gone.sql", 42, true);
            fs.appendFileSync(path.join(root, "sql/V1__Create_users.sql"), "\n-- edited");
            const res = await adopt(["--from", "flyway", "--yes"], url, root);
            assert.equal(res.code, 1, res.stdout);
            assert.match(res.stderr, /Flyway's history cannot be adopted \(3 problems\); nothing was written/);
            assert.match(
                res.stderr,
                /version 3 \(V3__Broken\.sql\) is recorded as failed in public\.flyway_schema_history \(rank 4\): .*flyway repair/,
            );
            assert.match(
                res.stderr,
                /version 4 \(V4__Gone\.sql\) is applied \(public\.flyway_schema_history records it\) but the directory has no file for it: restore the file \(git log --all -- '\*V4__Gone\.sql' finds it\)/,
            );
            assert.match(
                res.stderr,
                /V1__Create_users\.sql was edited after it was applied: public\.flyway_schema_history records checksum -2134990597, the file's is -?\d+/,
            );
            await assertNothingWritten(url, root);
        });

        it("line ends and a byte order mark do not count as edits, as in Flyway", async () => {
            const url = await freshDatabase();
            const root = project();
            await flywayDatabase(url, root);
            fs.writeFileSync(path.join(root, "sql/V1__Create_users.sql"), `${BOM}CREATE TABLE users (id int PRIMARY KEY);\r\n`);
            const res = await adopt(["--from", "flyway", "--yes", "--out", "elsewhere"], url, root);
            assert.equal(res.code, 0, res.stderr);
            assert.match(res.stdout, /the stack reads keel: npm run pulumi -- config set --path keel:migrations\.dir elsewhere/);
            assert.equal(fs.readdirSync(path.join(root, "elsewhere")).length, 3);
        });
    });

    it("recordAdoption writes rows and files together or not at all, and never over an existing history", async () => {
        const url = await freshDatabase();
        const rows = [{ version: "1", name: "a", checksum: "c1", status: "applied" as const }];
        const failing = (what: string) => () => {
            throw new Error(what);
        };
        await assert.rejects(recordAdoption(url, engineSettings(), rows, failing("disk full")), /disk full/);
        assert.equal(await relationExists(url, "public.keel_schema_history"), false, "the rows went with the failed write");
        await assert.rejects(
            recordAdoption(url, engineSettings(), rows, () => assert.fail("nothing is written when the check fails"), {
                verify: async () => failing("changed")(),
            }),
            /changed/,
        );
        assert.equal(await relationExists(url, "public.keel_schema_history"), false);
        let wrote = 0;
        await recordAdoption(url, engineSettings(), rows, () => void wrote++);
        assert.equal(wrote, 1);
        assert.deepEqual(
            (await historyRows(url)).map((r) => [r.version, r.name, r.checksum, r.status, r.applied_by]),
            [["1", "a", "c1", "applied", "test"]],
        );
        await assert.rejects(
            recordAdoption(url, engineSettings(), rows, () => void wrote++),
            /already has 1 row\(s\).*nothing was written/,
        );
        assert.equal(wrote, 1);
    });

    it("--help exits 0; a wrong option or tool exits 2 with the usage", async () => {
        const root = project();
        const help = await adopt(["--help"], "postgres://u:p@127.0.0.1:1/x", root);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /^Usage: keel schema adopt \[options\]/);
        assert.match(
            help.stdout,
            /Tools \(--from\)[^\n]*\n {2}prisma +prisma\/migrations\n {2}dbmate +db\/migrations\n {2}node-pg-migrate +migrations\n {2}flyway +sql\n/,
        );
        const wrong = await adopt(["--from", "liquibase"], "postgres://u:p@127.0.0.1:1/x", root);
        assert.equal(wrong.code, 2);
        assert.match(wrong.stderr, /--from needs one of prisma, dbmate, node-pg-migrate, flyway, not 'liquibase'/);
        assert.match(wrong.stderr, /Usage: keel schema adopt/);
        const unknown = await adopt(["--from", "dbmate", "--force"], "postgres://u:p@127.0.0.1:1/x", root);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown option '--force'/);
    });
});
