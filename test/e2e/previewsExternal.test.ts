/**
 * End to end through the real engine, on real PostgreSQL: a pull request's preview
 * made from a base stack with an external database (`keel pr up|list|down`, run as
 * processes the way npm runs them). Up makes `<db>_pr_<n>` beside the base's and
 * migrates it; a second push updates it in place (0 deletes, 0 replaces, its rows
 * kept); a rewritten applied migration makes it again; max, forks and typos are
 * refused before anything is made; down leaves nothing behind.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { databaseName, urlForDatabase } from "../../components/backup/pgDump/connection";
import { EngineWorkspace, lastUpdateLosses, requireEngine } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { BackendStack, listBackendStacks, stacksThroughEngine } from "../../scripts/lib/previewInventory";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);
const PASSPHRASE = "e2e-passphrase";

describe("end to end: a pull request's preview beside an external base (pr up, list, down)", function () {
    this.timeout(15 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let baseUrl: string;
    let previewUrl: string;
    let password: string;

    before(async function () {
        cli = requireEngine(this);
        password = (await testCluster()).password;
        baseUrl = await freshDatabase("e2e_prev");
        previewUrl = urlForDatabase(baseUrl, `${databaseName(baseUrl)}_pr_7`);
        ws = EngineWorkspace.create(cli);
        // The base: staging on an existing server, without the vendors whose plugins cannot run here.
        ws.editStackFile("staging", (c) => {
            c["keel:database"] = { kind: "external" };
            delete c["keel:backend"];
            delete c["keel:frontend"];
            delete c["keel:github"];
            c["keel:previews"] = { enabled: true, max: 1 };
        });
        const base = await ws.stack("staging");
        await base.setConfig("keel:databaseUrl", { value: baseUrl, secret: true });
    });

    const run = (args: string[], extra: Record<string, string> = {}) => {
        const res = ws.runKeel(args, { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, ...extra });
        assert.ok(!`${res.stdout}${res.stderr}`.includes(password), `keel ${args.join(" ")} printed the password`);
        return res;
    };
    const databases = async () =>
        (await query(baseUrl, "SELECT datname FROM pg_database WHERE datname LIKE 'e2e_prev%'")).map((r) => r.datname as string);

    it("pr up makes <db>_pr_<n> on the base's server, migrates it, and prints what it made", async () => {
        const res = run(["pr", "up", "--pr", "7", "--branch", "feature/orders", "--summary", "out/pr-7.json"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /the preview of #7 is up \(pr-7\), until \d{4}-/);
        assert.ok((await databases()).includes(databaseName(previewUrl)));
        const applied = await query(previewUrl, "SELECT version FROM keel_schema_history ORDER BY version");
        assert.deepEqual(
            applied.map((r) => r.version),
            ["1", "2"],
        );
        // The base's own database is untouched.
        assert.deepEqual(await query(baseUrl, "SELECT to_regclass('keel_schema_history') AS t"), [{ t: null }]);
        const summary = JSON.parse(fs.readFileSync(path.join(ws.root, "out/pr-7.json"), "utf8"));
        assert.equal(summary.pr, 7);
        assert.equal(summary.branch, "feature/orders");
        assert.equal(summary.base, "staging");
        assert.equal(summary.database.name, databaseName(previewUrl));
        assert.equal(summary.database.recreatedFor, undefined);
        // The base was never deployed: its history cannot be read, so every migration is listed, and that is said.
        assert.deepEqual(
            summary.migrations.map((m: { file: string }) => m.file),
            ["0001_create_accounts.sql", "0002_accounts_touch_updated_at.sql"],
        );
        assert.match(summary.lint[0].message, /the staging stack's migration history could not be read/);
        // keel pr comment takes it as it is.
        const comment = run(["pr", "comment", "--pr", "7", "--summary", "out/pr-7.json", "--print"]);
        assert.equal(comment.status, 0, comment.stderr);
        assert.match(comment.stdout, /<!-- keel-preview -->/);
        // The preview's file is written from the base's, never committed, and holds no URL in plain text.
        const file = fs.readFileSync(path.join(ws.root, "Pulumi.pr-7.yaml"), "utf8");
        assert.match(file, /keel:stage: "preview"/);
        assert.ok(!file.includes(databaseName(baseUrl)), "the preview's file holds the database's name in plain text");
        assert.deepEqual(ws.filesHolding([password]), []);
    });

    it("a second push updates it in place: 0 deletes, 0 replaces, its rows kept, the new migration applied", async () => {
        await query(previewUrl, "INSERT INTO accounts (email) VALUES ('kept@example.com')");
        ws.writeMigration("0003_add_notes.sql", "ALTER TABLE accounts ADD COLUMN notes text;\n");
        const res = run(["pr", "up", "--pr", "7", "--branch", "feature/orders"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.deepEqual(await lastUpdateLosses(await ws.stack("pr-7")), []);
        assert.deepEqual(await query(previewUrl, "SELECT email, notes FROM accounts"), [{ email: "kept@example.com", notes: null }]);
    });

    it("the reaper's two ways of listing stacks agree: the store read directly (S3, GCS, file) and the engine (Pulumi Cloud too)", async () => {
        const env = { ...ws.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
        const direct = await listBackendStacks(ws.root, env);
        const engine = await stacksThroughEngine(ws.root, env, "staging");
        const pr7 = (list: BackendStack[]) => list.find((s) => s.name === "pr-7");
        assert.ok(pr7(engine)?.expiresAt, "no expiry through the engine");
        assert.equal(pr7(engine)?.expiresAt, pr7(direct)?.expiresAt);
        assert.ok(pr7(engine)?.holds.has(databaseName(previewUrl)), "the preview's database is not among what it holds");
        assert.deepEqual([...pr7(engine)!.holds].sort(), [...pr7(direct)!.holds].sort());
    });

    it("bad input changes nothing: a broken migration or a mistyped key fails before any step, the preview's rows in place", async () => {
        ws.writeMigration("0004_broken.sql", "CREATE TABLE orders (id int PRIMARY KEY,;\n");
        const broken = run(["pr", "up", "--pr", "7", "--branch", "feature/orders"]);
        assert.equal(broken.status, 1, broken.stdout);
        assert.match(broken.stdout + broken.stderr, /migrations\/0004_broken\.sql:1:\d+: SQL syntax error/);
        assert.deepEqual(await lastUpdateLosses(await ws.stack("pr-7")), []);
        assert.deepEqual(await query(previewUrl, "SELECT email FROM accounts"), [{ email: "kept@example.com" }]);
        fs.rmSync(path.join(ws.root, "migrations", "0004_broken.sql"));
        const restore = ws.snapshot("staging");
        ws.editStackFile("staging", (c) => (c["keel:previews"].maxx = 2));
        const typo = run(["pr", "up", "--pr", "7", "--branch", "feature/orders"]);
        restore();
        assert.equal(typo.status, 1);
        assert.match(typo.stderr, /keel:previews\.maxx: unknown setting \(known: enabled, max,/);
        assert.deepEqual(await query(previewUrl, "SELECT email FROM accounts"), [{ email: "kept@example.com" }]);
    });

    it("pr list shows it: PR, branch, expiry, what it costs", () => {
        const res = run(["pr", "list", "--json"]);
        assert.equal(res.status, 0, res.stderr);
        const rows = JSON.parse(res.stdout);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].pr, 7);
        assert.equal(rows[0].branch, "feature/orders");
        assert.equal(rows[0].expired, false);
        assert.deepEqual(rows[0].costs, ["external database"]);
        const table = run(["pr", "list"]);
        assert.match(table.stdout, /^#7 +feature\/orders +0\.\dd +\d{4}-\d\d-\d\d \d\d:\d\d/m);
    });

    it("refuses, before making anything: beyond keel:previews.max (naming the open ones), a fork, a mistyped base, a bad number", async () => {
        const full = run(["pr", "up", "--pr", "8", "--branch", "feature/other"]);
        assert.equal(full.status, 1, full.stdout);
        assert.match(full.stderr, /1 previews are open, keel:previews\.max is 1: #7 \(pr-7\)/);
        assert.ok(!fs.existsSync(path.join(ws.root, "Pulumi.pr-8.yaml")));
        const fork = run(["pr", "up", "--pr", "7", "--branch", "x", "--head-repo", "someone/keel-app"], {
            GITHUB_REPOSITORY: "keel-dev/keel-app",
        });
        assert.equal(fork.status, 1);
        assert.match(fork.stderr, /comes from the fork someone\/keel-app: pull requests from forks never get a preview/);
        const typo = run(["pr", "up", "--pr", "9", "--from", "stagin", "--branch", "x"]);
        assert.equal(typo.status, 1);
        assert.match(typo.stderr, /--from names the stack 'stagin', which has no Pulumi\.stagin\.yaml .*did you mean --from staging\?/);
        const bad = run(["pr", "up", "--pr", "seven"]);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /expects a pull request's number such as 42; got 'seven'/);
        assert.ok(!(await databases()).some((d) => /_pr_(8|9)$/.test(d)));
    });

    it("an applied migration the pull request rewrote makes the preview's database again, and says so", async () => {
        ws.writeMigration("0003_add_notes.sql", "ALTER TABLE accounts ADD COLUMN notes varchar(200);\n");
        const res = run(["pr", "up", "--pr", "7", "--branch", "feature/orders", "--summary", "out/pr-7.json"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(
            res.stdout,
            /0003_add_notes\.sql changed since the preview applied it: removing the preview and making it again from the start/,
        );
        assert.deepEqual(await query(previewUrl, "SELECT count(*)::int AS n FROM accounts"), [{ n: 0 }]);
        const summary = JSON.parse(fs.readFileSync(path.join(ws.root, "out/pr-7.json"), "utf8"));
        assert.equal(summary.database.recreatedFor, "migrations/0003_add_notes.sql");
    });

    it("pr down removes the database, the stack and its file; a second pr down has nothing to do", async () => {
        const res = run(["pr", "down", "--pr", "7"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.ok(!(await databases()).includes(databaseName(previewUrl)));
        assert.ok(!fs.existsSync(path.join(ws.root, "Pulumi.pr-7.yaml")));
        assert.ok(!fs.existsSync(path.join(ws.state, ".pulumi", "stacks", "keel", "pr-7.json")));
        const again = run(["pr", "down", "--pr", "7"]);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stdout, /pull request #7 has no preview \(no stack pr-7\): nothing to remove/);
        const list = run(["pr", "list"]);
        assert.match(list.stdout, /No previews/);
    });
});
