/**
 * npm run dev:reset (scripts/devReset.ts) against a real PostgreSQL, with the
 * repository's own sample migrations and seed in a temporary project: it says
 * what it will destroy, asks, drops and recreates the database (ending its
 * sessions), applies every migration and runs the seeds; it refuses other
 * stages, Neon, a user that may not drop and create the database, and, changing
 * nothing, a "no" or a broken file.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { devReset } from "../../scripts/devReset";
import { parseVerb } from "../support/keel";
import { applyDir, connect, REPO_ROOT, withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

const rows = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

function project(stackFiles: Record<string, string> = { dev: "config: {}\n" }): string {
    const root = tempDir("keel-dev-reset-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
    for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
    fs.cpSync(path.join(REPO_ROOT, "migrations"), path.join(root, "migrations"), { recursive: true });
    fs.cpSync(path.join(REPO_ROOT, "db", "seeds"), path.join(root, "db", "seeds"), { recursive: true });
    return root;
}

async function run(root: string, argv: string[], answer = false, env: Record<string, string> = {}) {
    const lines: string[] = [];
    const asked: string[] = [];
    const io = {
        root,
        env: { PATH: process.env.PATH, USER: "tester", ...env },
        out: (l: string) => void lines.push(l),
        confirm: async (q: string) => (asked.push(q), answer),
    };
    try {
        const { options } = await parseVerb(["dev", "reset"], argv);
        const code = await devReset({ stack: options.stack, yes: options.yes === true, url: options.url, seeds: options.seeds }, io);
        return { code, lines, asked, error: undefined as Error | undefined };
    } catch (error) {
        return { code: 1, lines, asked, error: error as Error };
    }
}

/** A dev database as weeks of work leave it: the migrations applied, rows of its own, a table made by hand. */
async function usedDatabase(): Promise<string> {
    const url = await freshDatabase("devreset");
    await applyDir(url, path.join(REPO_ROOT, "migrations"));
    await withClient(url, (c) =>
        c.query("INSERT INTO accounts (email) VALUES ('mine@example.com'); CREATE TABLE scratch (x int); INSERT INTO scratch VALUES (1)"),
    );
    return url;
}

const emails = async (url: string) => (await rows(url, "SELECT email FROM accounts ORDER BY id")).map((r) => r.email);

describe("npm run dev:reset", function () {
    this.timeout(120_000);
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    it("says what it will destroy, and with --yes drops, recreates, migrates and seeds, ending open sessions", async () => {
        const url = await usedDatabase();
        const root = project();
        // An app connected to the database: its session is ended, not waited for.
        const app = await connect(url);
        const appGone = new Promise<void>((resolve) => app.on("end", () => resolve()));
        const r = await run(root, ["--url", url, "--yes"]);
        assert.equal(r.error, undefined, r.error?.stack);
        assert.equal(r.code, 0);
        assert.deepEqual(r.asked, [], "--yes asks nothing");
        const text = r.lines.join("\n");
        assert.match(r.lines[0], /^dev:reset on stack 'dev' \(127\.0\.0\.1:\d+\/devreset_\S+\) will:$/);
        assert.match(
            r.lines[1],
            /^ {2}1\. drop the database 'devreset_\S+' on 127\.0\.0\.1:\d+ \(schema version 2, 3 tables\): everything in it is lost; the session connected to it \(your app's too\) is ended$/,
        );
        assert.match(r.lines[2], /^ {2}2\. create 'devreset_\S+' again, empty \(owner keel, UTF8\)$/);
        assert.match(
            r.lines[3],
            /^ {2}3\. apply 2 migrations from migrations\/ \(0001_create_accounts\.sql, 0002_accounts_touch_updated_at\.sql\), each in its own transaction$/,
        );
        assert.match(r.lines[4], /^ {2}4\. run 1 seed from db\/seeds\/ \(0001_accounts\.sql\), each in its own transaction$/);
        assert.match(text, /applied 0002_accounts_touch_updated_at\.sql/);
        assert.match(text, /seeded db\/seeds\/0001_accounts\.sql/);
        assert.match(r.lines[r.lines.length - 1], /rebuilt in [\d.]+ s: schema version 2, 2 migrations applied, 1 seed run\.$/);
        assert.ok(!text.includes(password), "no password is printed");

        await appGone;
        assert.deepEqual(await emails(url), ["ada@example.com", "grace@example.com", "linus@example.com"]);
        assert.deepEqual(await rows(url, "SELECT to_regclass('public.scratch') AS t"), [{ t: null }], "the hand-made table is gone");
        assert.deepEqual(
            (await rows(url, "SELECT version::text, status, applied_by FROM keel_schema_history ORDER BY version")).map((h) => [
                h.version,
                h.status,
                h.applied_by,
            ]),
            [
                ["1", "applied", "local:tester"],
                ["2", "applied", "local:tester"],
            ],
        );
        // The trigger the migrations made works on the seeded rows.
        await withClient(url, (c) => c.query("UPDATE accounts SET email = 'ada@example.org' WHERE email = 'ada@example.com'"));
    });

    it("without --yes asks, and a no (or no terminal to answer) changes nothing and exits 1", async () => {
        const url = await usedDatabase();
        const r = await run(project(), ["--url", url]);
        assert.equal(r.error, undefined, r.error?.message);
        assert.equal(r.code, 1);
        assert.deepEqual(r.asked, ["Drop and rebuild it? [y/N] "]);
        assert.equal(r.lines[r.lines.length - 1], "Nothing was changed. (Pass --yes to skip this question in scripts.)");
        assert.deepEqual(await emails(url), ["mine@example.com"]);
        assert.deepEqual(await rows(url, "SELECT x FROM scratch"), [{ x: 1 }]);

        const yes = await run(project(), ["--url", url], true);
        assert.equal(yes.code, 0, yes.error?.message);
        assert.deepEqual(await emails(url), ["ada@example.com", "grace@example.com", "linus@example.com"]);
    });

    it("refuses staging, prod and stacks whose keel:stage is not dev, and a Neon dev stack, before the database is touched", async () => {
        const url = await usedDatabase();
        const root = project({
            staging: "config: {}\n",
            prod: "config: {}\n",
            dev: "config:\n  keel:stage: staging\n",
            neondev: "config:\n  keel:stage: dev\n  keel:database:\n    kind: neon\n    neon:\n      project:\n        name: shop\n",
        });
        for (const [stack, stage] of [
            ["staging", "staging"],
            ["prod", "prod"],
            ["dev", "staging"],
        ]) {
            const r = await run(root, ["--stack", stack, "--url", url, "--yes"]);
            assert.match(
                r.error?.message ?? "",
                new RegExp(
                    `^dev:reset is for the dev database only: stack '${stack}' has the stage '${stage}' .*Nothing was changed\\. .*npm run db:reset -- --stack ${stack}`,
                ),
            );
        }
        const neon = await run(root, ["--stack", "neondev", "--url", url, "--yes"], true, { NEON_API_KEY: "napi_x" });
        assert.match(neon.error?.message ?? "", /^Stack 'neondev' is on Neon, .*dev:reset .* leaves Neon alone/);
        assert.deepEqual(await emails(url), ["mine@example.com"]);
    });

    it("changes nothing when a migration or a seed does not parse", async () => {
        const url = await usedDatabase();
        const root = project();
        fs.writeFileSync(path.join(root, "migrations", "0003_broken.sql"), "ALTER TABLE accounts ADD COLUMN;\n");
        fs.writeFileSync(path.join(root, "db", "seeds", "0002_broken.sql"), "INSERT INTO accounts (email) VALUES ('x'\n");
        const r = await run(root, ["--url", url, "--yes"]);
        assert.match(r.error?.message ?? "", /migrations\/0003_broken\.sql:1:\d+: SQL syntax error/);
        fs.rmSync(path.join(root, "migrations", "0003_broken.sql"));
        const s = await run(root, ["--url", url, "--yes"]);
        assert.match(s.error?.message ?? "", /db\/seeds\/0002_broken\.sql:\d+:\d+: SQL syntax error/);
        assert.deepEqual(await emails(url), ["mine@example.com"]);
        assert.deepEqual(await rows(url, "SELECT x FROM scratch"), [{ x: 1 }]);
    });

    it("refuses a user that may not drop and create the database, and the server's own databases", async () => {
        const cluster = await testCluster();
        const name = `devreset_limited_${process.pid}`;
        await cluster.sql("postgres", `CREATE ROLE limited_${process.pid} LOGIN PASSWORD 'limited-pw'`);
        await cluster.sql("postgres", `CREATE DATABASE ${name} OWNER limited_${process.pid}`);
        const url = `postgres://limited_${process.pid}:limited-pw@127.0.0.1:${cluster.port}/${name}`;
        const r = await run(project(), ["--url", url, "--yes"]);
        assert.match(
            r.error?.message ?? "",
            new RegExp(
                `^dev:reset drops and creates '${name}' .* the user 'limited_${process.pid}' may not do: it needs to own the database and have CREATEDB .* Nothing was changed\\.$`,
            ),
        );
        const pg = await run(project(), ["--url", cluster.url("postgres"), "--yes"]);
        assert.match(pg.error?.message ?? "", /names 'postgres', a database PostgreSQL keeps for itself .* Nothing was changed\./);
    });

    it("creates the database when it does not exist", async () => {
        const cluster = await testCluster();
        const url = cluster.url(`devreset_new_${process.pid}`);
        const r = await run(project(), ["--url", url, "--yes"]);
        assert.equal(r.error, undefined, r.error?.message);
        assert.match(r.lines[1], /^ {2}1\. 'devreset_new_\d+' does not exist on 127\.0\.0\.1:\d+: nothing to drop$/);
        assert.deepEqual(await emails(url), ["ada@example.com", "grace@example.com", "linus@example.com"]);
    });
});
