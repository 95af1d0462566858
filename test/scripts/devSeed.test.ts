/**
 * Seeds (components/schema/seeds.ts) and npm run dev:seed (scripts/devSeed.ts)
 * against a real PostgreSQL: name order, one transaction per file, a failure
 * named by file and line, every problem before anything runs, the refusal on
 * stacks whose stage is not dev, and the repository's sample seed on its
 * sample migrations.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SeedError, loadSeeds, runSeeds } from "../../components/schema/seeds";
import { devSeed } from "../../scripts/devSeed";
import { parseVerb } from "../support/keel";
import { applyDir, REPO_ROOT, withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

const SETTINGS = { lockTimeout: "5s", statementTimeout: "1min" };

function seedsDir(files: Record<string, string>): string {
    const dir = tempDir("keel-seeds-");
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
}

const rows = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

async function logTable(): Promise<string> {
    const url = await freshDatabase("seed");
    await withClient(url, (c) => c.query("CREATE TABLE log (n serial PRIMARY KEY, what text NOT NULL)"));
    return url;
}

describe("seeds", () => {
    it("run in name order, each file in one transaction", async () => {
        const url = await logTable();
        const dir = seedsDir({
            "b_second.sql": "INSERT INTO log (what) VALUES ('b');\n",
            "10_first.sql": "INSERT INTO log (what) VALUES ('10');\n-- a comment\nINSERT INTO log (what) VALUES ('10 again');\n",
            "c_third.sql": "-- only comments: a no-op\n",
            "README.md": "not a seed",
            ".hidden.sql": "this is skipped;",
        });
        const seeds = await loadSeeds(dir, "db/seeds");
        assert.deepEqual(
            seeds.map((s) => s.path),
            ["db/seeds/10_first.sql", "db/seeds/b_second.sql", "db/seeds/c_third.sql"],
        );
        const said: string[] = [];
        const { ran } = await runSeeds(url, seeds, SETTINGS, (l) => said.push(l));
        assert.equal(ran.length, 3);
        assert.deepEqual(
            (await rows(url, "SELECT what FROM log ORDER BY n")).map((r) => r.what),
            ["10", "10 again", "b"],
        );
        assert.match(said[0], /^seeded db\/seeds\/10_first\.sql \(2 statements\) in \d+ ms$/);
    });

    it("a failing seed names its file and line, rolls its own transaction back, and stops; earlier seeds stay", async () => {
        const url = await logTable();
        const dir = seedsDir({
            "1_ok.sql": "INSERT INTO log (what) VALUES ('kept');\n",
            "2_bad.sql": "INSERT INTO log (what) VALUES ('rolled back');\n\nINSERT INTO log (what)\n    VALUES (no_such_column);\n",
            "3_never.sql": "INSERT INTO log (what) VALUES ('never');\n",
        });
        const seeds = await loadSeeds(dir, "db/seeds");
        const err = await runSeeds(url, seeds, SETTINGS).then(
            () => assert.fail("expected the seed to fail"),
            (e: Error) => e,
        );
        assert.ok(err instanceof SeedError, String(err));
        assert.match(
            err.message,
            /^db\/seeds\/2_bad\.sql:4: column "no_such_column" does not exist \[SQLSTATE 42703\]\. The seed's transaction was rolled back; the seeds before it stay applied \(1_ok\.sql\)\.$/,
        );
        assert.deepEqual(
            (await rows(url, "SELECT what FROM log ORDER BY n")).map((r) => r.what),
            ["kept"],
        );
    });

    it("reports every problem of every file before anything runs: syntax, transaction control, bytes", async () => {
        const url = await logTable();
        const dir = seedsDir({
            "1_fine.sql": "INSERT INTO log (what) VALUES ('fine');\n",
            "2_syntax.sql": "INSERT INTO log (what)\nVALUES ('x'\n",
            "3_begin.sql": "BEGIN;\nINSERT INTO log (what) VALUES ('y');\nCOMMIT;\n",
            "4_vacuum.sql": "\nVACUUM log;\n",
        });
        fs.writeFileSync(path.join(dir, "5_latin1.sql"), Buffer.from("INSERT INTO log (what) VALUES ('caf\xe9');\n", "latin1"));
        const err = await loadSeeds(dir, "db/seeds").then(
            () => assert.fail("expected problems"),
            (e: Error) => e,
        );
        assert.ok(err instanceof SeedError);
        assert.match(err.message, /^The seeds in 'db\/seeds' have 5 problems; nothing has been run:/);
        assert.match(err.message, /db\/seeds\/2_syntax\.sql:\d+:\d+: SQL syntax error/);
        assert.match(err.message, /db\/seeds\/3_begin\.sql:1: transaction control \(BEGIN\/COMMIT\/ROLLBACK\) is not allowed/);
        assert.match(err.message, /db\/seeds\/3_begin\.sql:3: transaction control/);
        assert.match(err.message, /db\/seeds\/4_vacuum\.sql:2: VACUUM cannot run inside a transaction/);
        assert.match(err.message, /db\/seeds\/5_latin1\.sql: .*not UTF-8/i);
        assert.deepEqual(await rows(url, "SELECT what FROM log"), [], "nothing ran");
    });

    it("a missing directory holds no seeds", async () => {
        assert.deepEqual(await loadSeeds(path.join(tempDir(), "nope")), []);
    });
});

describe("npm run dev:seed", () => {
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    function project(stackFiles: Record<string, string>, seeds: Record<string, string>): string {
        const root = tempDir("keel-dev-seed-");
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
        for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
        fs.mkdirSync(path.join(root, "db", "seeds"), { recursive: true });
        for (const [name, text] of Object.entries(seeds)) fs.writeFileSync(path.join(root, "db", "seeds", name), text);
        return root;
    }

    async function run(root: string, argv: string[]) {
        const lines: string[] = [];
        try {
            const { options } = await parseVerb(["dev", "seed"], argv);
            const code = await devSeed(
                { stack: options.stack, url: options.url, dir: options.dir },
                {
                    root,
                    env: { PATH: process.env.PATH },
                    out: (l) => void lines.push(l),
                },
            );
            return { code, lines, error: undefined as Error | undefined };
        } catch (error) {
            return { code: 1, lines, error: error as Error };
        }
    }

    it("refuses staging, prod and any stack whose keel:stage is not dev, before reading anything", async () => {
        const url = await logTable();
        const root = project(
            {
                staging: "config: {}\n",
                prod: "config: {}\n",
                dev: "config:\n  keel:stage: prod\n",
                qa: "config:\n  keel:stage: staging\n",
            },
            { "1.sql": "INSERT INTO log (what) VALUES ('x');\n" },
        );
        for (const [stack, stage] of [
            ["staging", "staging"],
            ["prod", "prod"],
            ["dev", "prod"],
            ["qa", "staging"],
        ]) {
            const r = await run(root, ["--stack", stack, "--url", url]);
            assert.match(
                r.error?.message ?? "",
                new RegExp(`^dev:seed is for the dev database only: stack '${stack}' has the stage '${stage}' .*Nothing was changed\\.$`),
            );
        }
        assert.deepEqual(await rows(url, "SELECT what FROM log"), []);
    });

    it("seeds a stack whose keel:stage is dev; the repository's sample seed runs on its sample migrations, twice", async () => {
        const url = await freshDatabase("seed");
        await applyDir(url, path.join(REPO_ROOT, "migrations"));
        const root = project({ local: "config:\n  keel:stage: dev\n" }, {});
        fs.cpSync(path.join(REPO_ROOT, "db", "seeds"), path.join(root, "db", "seeds"), { recursive: true });
        for (let i = 0; i < 2; i++) {
            const r = await run(root, ["--stack", "local", "--url", url]);
            assert.equal(r.error, undefined, r.error?.message);
            assert.equal(r.code, 0);
            assert.match(r.lines[0], /^seeding 127\.0\.0\.1:\d+\/\S+ \(stack 'local'\) with 1 seed from db\/seeds\/$/);
            assert.match(r.lines[r.lines.length - 1], /^1 seed applied to 127\.0\.0\.1:\d+\//);
            assert.ok(!r.lines.join("\n").includes(password));
        }
        assert.deepEqual(
            (await rows(url, "SELECT email FROM accounts ORDER BY id")).map((r) => r.email),
            ["ada@example.com", "grace@example.com", "linus@example.com"],
        );
    });

    it("says so when there are no seeds, without connecting", async () => {
        const root = project({ dev: "config: {}\n" }, {});
        const r = await run(root, ["--url", "postgres://nobody@127.0.0.1:1/none"]);
        assert.equal(r.code, 0, r.error?.message);
        assert.deepEqual(r.lines, ["No seeds in db/seeds/ (add *.sql files there; they run in name order)."]);
    });
});
