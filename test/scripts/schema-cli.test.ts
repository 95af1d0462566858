/**
 * The schema CLI (scripts/schema.ts) as a process, as a developer runs it: on
 * a dev stack whose database is an existing server read from DATABASE_URL
 * (the one kind that reads it), --url, --dir, exit codes and what it prints.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadMigrations } from "../../components/schema/migrationSet";
import { applyMigrations } from "../../components/schema/runner";
import { engineSettings, historyRows, migrationsDir, relationExists, REPO_ROOT, runCli, withClient } from "../support/migrationsDir";
import { tempDir } from "../support/tempDir";
import { freshDatabase, testCluster } from "../support/postgres";

describe("schema CLI", function () {
    this.timeout(60000);
    let password: string;

    before(async () => {
        password = (await testCluster()).password;
    });

    const twoFiles = () =>
        migrationsDir({
            "0001_create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
            "0002_create_posts.sql": "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\n",
        });

    it("status lists applied and pending migrations and exits 0", async () => {
        const url = await freshDatabase();
        const dir = twoFiles();
        const files = await loadMigrations(dir);
        await applyMigrations(url, files.slice(0, 1), engineSettings());

        const res = await runCli(["status", "--dir", dir], url);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /schema version 1\b/);
        // Applied and pending alike, as the files name them.
        assert.match(res.stdout, /^ {2}applied {2}0001_create_users\b/m);
        assert.match(res.stdout, /^ {2}pending {2}0002_create_posts$/m);
        assert.match(res.stdout, /1 applied, 1 pending/);
        assert.ok(!res.stdout.includes(password) && !res.stderr.includes(password));
        assert.equal(await relationExists(url, "public.posts"), false, "status applies nothing");
    });

    it("status --json: one document with every migration; a disagreement is in its problems, exit 1", async () => {
        const url = await freshDatabase();
        const dir = twoFiles();
        await applyMigrations(url, (await loadMigrations(dir)).slice(0, 1), engineSettings());
        const res = await runCli(["status", "--json", "--dir", dir], url);
        assert.equal(res.code, 0, res.stderr);
        const doc = JSON.parse(res.stdout);
        assert.equal(doc.version, "1");
        assert.deepEqual(
            doc.migrations.map((m: { migration: string; status: string }) => [m.migration, m.status]),
            [
                ["0001_create_users", "applied"],
                ["0002_create_posts", "pending"],
            ],
        );
        assert.deepEqual([doc.applied, doc.pending, doc.problems], [1, 1, []]);
        assert.ok(!res.stdout.includes(password));
        fs.writeFileSync(path.join(dir, "0001_create_users.sql"), "CREATE TABLE users (id bigint PRIMARY KEY);\n");
        const edited = await runCli(["status", "--json", "--dir", dir], url);
        assert.equal(edited.code, 1);
        assert.match(JSON.parse(edited.stdout).problems.join("\n"), /0001_create_users\.sql was edited after it was applied/);
    });

    it("status exits non-zero when the history and the files disagree", async () => {
        const url = await freshDatabase();
        const dir = twoFiles();
        await applyMigrations(url, await loadMigrations(dir), engineSettings());
        fs.writeFileSync(path.join(dir, "0001_create_users.sql"), "CREATE TABLE users (id bigint PRIMARY KEY);\n");
        const res = await runCli(["status", "--dir", dir], url);
        assert.equal(res.code, 1);
        assert.match(res.stderr, /0001_create_users\.sql was edited after it was applied/);
    });

    it("apply applies the pending migrations, exits 0, and a second apply does nothing", async () => {
        const url = await freshDatabase();
        const dir = twoFiles();
        const res = await runCli(["apply", "--dir", dir], url);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /applied 0001_create_users\.sql/);
        assert.match(res.stdout, /applied 0002_create_posts\.sql/);
        assert.match(res.stdout, /schema version 2: 2 applied now, 2 in total/);
        assert.ok(!res.stdout.includes(password));
        assert.equal(await relationExists(url, "public.posts"), true);
        const rows = await historyRows(url);
        assert.deepEqual(
            rows.map((r) => [r.version, r.status]),
            [
                ["1", "applied"],
                ["2", "applied"],
            ],
        );
        assert.match(rows[0].applied_by, /^local:/);

        const again = await runCli(["apply", `--dir=${dir}`], url);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /0 applied now, 2 in total/);
    });

    it("--dir is honoured: an empty directory applies nothing, the files' directory applies them", async () => {
        const url = await freshDatabase();
        const empty = migrationsDir();
        const res = await runCli(["apply", "--dir", empty], url);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /0 applied now, 0 in total/);
        assert.equal(await relationExists(url, "public.users"), false);

        const missing = path.join(empty, "does-not-exist");
        const gone = await runCli(["status", "--dir", missing], url);
        assert.equal(gone.code, 1);
        assert.ok(gone.stderr.includes(`'${missing}' does not exist`), gone.stderr);
    });

    it("new <name> creates the next version file, keeping the sequence's width", async () => {
        const dir = twoFiles();
        fs.writeFileSync(path.join(dir, "README.md"), "notes\n");
        const res = await runCli(["new", "add", "orders", "--dir", dir], undefined);
        assert.equal(res.code, 0, res.stderr);
        const created = path.join(dir, "0003_add_orders.sql");
        assert.equal(res.stdout.trim(), created);
        assert.ok(fs.existsSync(created));
        assert.deepEqual(
            fs
                .readdirSync(dir)
                .filter((f) => f.endsWith(".sql"))
                .sort(),
            ["0001_create_users.sql", "0002_create_posts.sql", "0003_add_orders.sql"],
        );
        // The new file is a valid, empty migration.
        const files = await loadMigrations(dir);
        assert.deepEqual(
            files.map((f) => [f.version, f.name, f.statements.length]),
            [
                ["1", "create_users", 1],
                ["2", "create_posts", 1],
                ["3", "add_orders", 0],
            ],
        );
        // The template's comments mention the directives without setting any.
        assert.deepEqual(files[2].directives, { transaction: true, allowDestructive: false });

        const next = await runCli(["new", "Add-Order Lines!", "--dir", dir], undefined);
        assert.equal(next.code, 0, next.stderr);
        assert.equal(next.stdout.trim(), path.join(dir, "0004_add_order_lines.sql"));

        const noName = await runCli(["new", "--dir", dir], undefined);
        assert.equal(noName.code, 2);
        assert.match(noName.stderr, /needs a name/);
    });

    it("a failing migration makes apply exit non-zero with file:line on stderr and no password", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
            "0002_bad.sql": "-- posts\nCREATE TABLE posts (id int);\nINSERT INTO posts\n  SELECT id FROM no_such_table;\n",
        });
        const res = await runCli(["apply", "--dir", dir], url);
        assert.equal(res.code, 1, res.stdout);
        assert.match(res.stderr, /0002_bad\.sql:4: relation "no_such_table" does not exist/);
        assert.ok(!res.stderr.includes(password) && !res.stdout.includes(password), "the password never appears");
        assert.doesNotMatch(res.stderr, /\n\s+at /, "a clear message, not a stack trace");
        assert.deepEqual(
            (await historyRows(url)).map((r) => r.version),
            ["1"],
        );
        assert.equal(await relationExists(url, "public.posts"), false);
    });

    it("an unreachable database fails without the password in the output", async () => {
        const url = await freshDatabase();
        const u = new URL(url);
        u.port = "1"; // nothing listens there
        const res = await runCli(["apply", "--dir", twoFiles()], u.toString());
        assert.equal(res.code, 1);
        assert.match(res.stderr, /Cannot connect to the database at 127\.0\.0\.1:1\//);
        assert.ok(!res.stderr.includes(password) && !res.stdout.includes(password));
    });

    it("a pooled DATABASE_URL is refused with a pointer to the direct URL", async () => {
        const url = await freshDatabase();
        const res = await runCli(["apply", "--dir", twoFiles()], `${url}?pgbouncer=true`);
        assert.equal(res.code, 1);
        assert.match(res.stderr, /pooled connection/);
        assert.match(res.stderr, /direct connection/);
        assert.ok(!res.stderr.includes(password));
        assert.deepEqual(await historyRows(url), []);
    });

    it("without DATABASE_URL, on a dev stack that reads it, status, apply and resolve exit 1 naming DATABASE_URL and the fix", async () => {
        const dir = twoFiles();
        const cases = [["status"], ["apply"], ["resolve", "1", "--applied"]];
        const results = await Promise.all(cases.map((args) => runCli([...args, "--dir", dir], undefined)));
        cases.forEach((args, i) => {
            const res = results[i];
            assert.equal(res.code, 1, `${args.join(" ")}: ${res.stderr}`);
            assert.match(res.stderr, /keel:databaseUrl: is not set and DATABASE_URL is not in the environment/);
            assert.match(res.stderr, /or export DATABASE_URL/);
        });
    });

    it("the staging stack's settings with --url need no vendor credential (NEON_API_KEY, FLY_API_TOKEN, …)", async () => {
        const url = await freshDatabase();
        // The repository's own stack files: staging is a Neon branch with a Fly backend and a Vercel frontend.
        const root = tempDir("keel-schema-shipped-");
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"]) {
            fs.copyFileSync(path.join(REPO_ROOT, f), path.join(root, f));
        }
        const bare = { NEON_API_KEY: "", FLY_API_TOKEN: "", VERCEL_API_TOKEN: "", GITHUB_TOKEN: "", RENDER_API_KEY: "" };
        const res = await runCli(["status", "--stack", "staging", "--url", url, "--dir", twoFiles()], undefined, bare, root);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /0 applied, 2 pending/);
        assert.doesNotMatch(res.stderr, /NEON_API_KEY/);
    });

    it("resolve with bad arguments exits 2 and touches nothing", async () => {
        const url = await freshDatabase();
        const dir = twoFiles();
        const cases = [
            ["resolve", "--applied"],
            ["resolve", "abc", "--applied"],
            ["resolve", "3"],
            ["resolve", "3", "--applied", "--rolled-back"],
        ];
        const results = await Promise.all(cases.map((args) => runCli([...args, "--dir", dir], url)));
        cases.forEach((args, i) => {
            const res = results[i];
            assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
            assert.match(res.stderr, /schema resolve needs a version and one of --applied or --rolled-back/);
        });
        assert.equal(await relationExists(url, "public.keel_schema_history"), false);

        // Well-formed but with nothing to resolve: a clear error, exit 1.
        await applyMigrations(url, await loadMigrations(dir), engineSettings());
        const res = await runCli(["resolve", "2", "--applied", "--dir", dir], url);
        assert.equal(res.code, 1);
        assert.match(res.stderr, /Version 2 \(create_posts\) is applied, not failed/);
    });

    it("unknown commands and malformed options exit 2 before anything runs", async () => {
        const url = await freshDatabase();
        const dir = twoFiles();
        const cases: [string[], RegExp][] = [
            [["migrate"], /unknown command 'migrate'/],
            [["apply", "--dir"], /option '--dir <path>' argument missing/],
            [["apply", "--lock-wait", "soon", "--dir", dir], /--lock-wait needs a number of seconds/],
            [["apply", "--baseline", "v3", "--dir", dir], /--baseline needs a migration version/],
            [["apply", "--lock-timeout", "1s'; DROP TABLE users; --", "--dir", dir], /--lock-timeout needs a duration/],
            [["apply", "--statement-timeout", "forever", "--dir", dir], /--statement-timeout needs a duration/],
        ];
        const results = await Promise.all(cases.map(([args]) => runCli(args, url)));
        cases.forEach(([args, message], i) => {
            const res = results[i];
            assert.equal(res.code, 2, `${args.join(" ")}: exit ${res.code}\n${res.stderr}`);
            assert.match(res.stderr, message);
            assert.match(res.stderr, /Usage: keel schema /);
        });
        assert.equal(await relationExists(url, "public.keel_schema_history"), false);
    });

    describe("settings from the stack file", () => {
        /** A project whose dev stack keeps its history in schema `app` and its migrations in `db/migrations`; staging in `ops`. */
        function project(): string {
            const root = tempDir("keel-schema-project-");
            fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
            fs.writeFileSync(
                path.join(root, "Pulumi.dev.yaml"),
                "config:\n  keel:database:\n    kind: external\n  keel:migrations:\n    dir: db/migrations\n    historySchema: app\n",
            );
            fs.writeFileSync(
                path.join(root, "Pulumi.staging.yaml"),
                // As a user has it: the URL is set, encrypted (the command takes the database from DATABASE_URL).
                "config:\n  keel:database:\n    kind: external\n  keel:databaseUrl:\n    secure: v1:AAAA:BBBB\n  keel:migrations:\n    dir: db/migrations\n    historySchema: ops\n",
            );
            fs.mkdirSync(path.join(root, "db", "migrations"), { recursive: true });
            fs.writeFileSync(path.join(root, "db", "migrations", "0001_create_users.sql"), "CREATE TABLE users (id int PRIMARY KEY);\n");
            return root;
        }

        it("apply and status read the dev stack's directory and history schema, as pulumi up does", async () => {
            const url = await freshDatabase();
            await withClient(url, (c) => c.query("CREATE SCHEMA app; CREATE SCHEMA ops"));
            const root = project();
            const apply = await runCli(["apply"], url, {}, root);
            assert.equal(apply.code, 0, apply.stderr);
            assert.equal(await relationExists(url, "app.keel_schema_history"), true);
            assert.equal(await relationExists(url, "public.keel_schema_history"), false);
            const status = await runCli(["status"], url, {}, root);
            assert.equal(status.code, 0, status.stderr);
            assert.match(status.stdout, /history in app\.keel_schema_history/);
            assert.match(status.stdout, /1 applied, 0 pending/);
            // --stack staging: its own history schema, where nothing is applied yet.
            // Staging's URL is its own (the stack output): another database is named with --url.
            const staging = await runCli(["status", "--stack", "staging", "--url", url], undefined, {}, root);
            assert.match(staging.stdout, /0 applied, 1 pending/, staging.stderr);
            assert.match(staging.stdout, /^ {2}pending {2}0001_create_users$/m);
        });

        it("a stack file's bad settings are reported with the key and the fix", async () => {
            const root = project();
            fs.writeFileSync(
                path.join(root, "Pulumi.dev.yaml"),
                "config:\n  keel:database:\n    kind: external\n  keel:migrations:\n    lockWaitSeconds: -1\n",
            );
            const res = await runCli(["status"], "postgres://u:p@127.0.0.1:1/x", {}, root);
            assert.equal(res.code, 1);
            assert.match(res.stderr, /keel:migrations\.lockWaitSeconds/);
            assert.match(res.stderr, /fix: npm run pulumi -- config set --path keel:migrations\.lockWaitSeconds/);
        });
    });

    it("status lists a failed no-transaction file as failed, and every problem of the directory at once", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
            "0002_index.sql": "-- keel:no-transaction\nCREATE INDEX CONCURRENTLY users_missing ON nope (id);\n",
        });
        await runCli(["apply", "--dir", dir], url);
        fs.writeFileSync(path.join(dir, "0003_bad name.sql"), "SELECT 1;\n");
        fs.writeFileSync(path.join(dir, "0004_broken.sql"), "CREATE TABLE (;\n");
        const res = await runCli(["status", "--dir", dir], url);
        assert.equal(res.code, 1);
        assert.match(res.stdout, /^ {2}FAILED {3}0002_index\b/m);
        assert.match(res.stdout, /1 applied, 1 failed or running, 1 pending/);
        // The directory's problem, the file's and the history's, in one report.
        assert.match(res.stderr, /have 3 problems/);
        assert.match(res.stderr, /0003_bad name\.sql: name must be/);
        assert.match(res.stderr, /0004_broken\.sql:1:\d+: SQL syntax error/);
        assert.match(res.stderr, /version 2 \(index\) is recorded as failed/);
    });

    it("every command answers --help and -h with its usage and exits 0", async () => {
        for (const [command, usage] of [
            ["status", /^Usage: keel schema status \[options\]/],
            ["apply", /^Usage: keel schema apply \[options\]/],
            ["new", /^Usage: keel schema new \[options\] \[name\.\.\.\]/],
            ["resolve", /^Usage: keel schema resolve \[options\] \[version\]/],
        ] as const) {
            for (const flag of ["--help", "-h"]) {
                const res = await runCli([command, flag], undefined);
                assert.equal(res.code, 0, `${command} ${flag}: ${res.stderr}`);
                assert.match(res.stdout, usage);
                assert.match(res.stdout, /--stack <stack>/);
            }
        }
        const top = await runCli(["--help"], undefined);
        assert.equal(top.code, 0);
        assert.match(top.stdout, /^ {2}status\b[\s\S]*^ {2}resolve\b/m);
    });

    it("a CREATE INDEX CONCURRENTLY that failed: status names the INVALID index and its DROP; resolve refuses until it is gone", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({
            "0001_items.sql": "CREATE TABLE items (sku text); INSERT INTO items VALUES ('a'), ('a');\n",
            "0002_unique_sku.sql": "-- keel:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY items_sku ON items (sku);\n",
        });
        const apply = await runCli(["apply", "--dir", dir], url);
        assert.equal(apply.code, 1);
        const status = await runCli(["status", "--dir", dir], url);
        assert.equal(status.code, 1);
        assert.match(status.stdout, /^ {2}FAILED {3}0002_unique_sku\b/m);
        assert.match(status.stdout, /invalid index public\.items_sku on public\.items: DROP INDEX CONCURRENTLY public\.items_sku;/);
        const refused = await runCli(["resolve", "2", "--applied", "--dir", dir], url);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /DROP INDEX CONCURRENTLY public\.items_sku;/);
        await withClient(url, (c) => c.query("DROP INDEX CONCURRENTLY public.items_sku"));
        const settled = await runCli(["resolve", "2", "--rolled-back", "--dir", dir], url);
        assert.equal(settled.code, 0, settled.stderr);
        assert.match(settled.stdout, /removed from the history; it will run again/);
    });

    it("status shows a pending file's warning: an enum value used in the transaction that adds it", async () => {
        const url = await freshDatabase();
        const dir = migrationsDir({ "0001_status.sql": "CREATE TYPE status AS ENUM ('new');\nCREATE TABLE orders (id int, s status);\n" });
        assert.equal((await runCli(["apply", "--dir", dir], url)).code, 0);
        fs.writeFileSync(
            path.join(dir, "0002_shipped.sql"),
            "ALTER TYPE status ADD VALUE 'shipped';\nUPDATE orders SET s = 'shipped' WHERE id = 1;\n",
        );
        const res = await runCli(["status", "--dir", dir], url);
        assert.equal(res.code, 0, res.stderr);
        assert.match(
            res.stdout,
            /^ {2}pending {2}0002_shipped {2}warning: line 2 uses 'shipped', added by ALTER TYPE status ADD VALUE at line 1/m,
        );
    });
});
