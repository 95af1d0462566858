/**
 * keel db copy through the command line on real PostgreSQL: when a copy is
 * masked (a prod-stage source, a URL) and when not, the refusals (into prod,
 * --unmasked from prod, a mistyped stack, no rules file, no key, a rules file
 * that does not parse), each leaving the target as it was, and the plan it
 * prints before asking.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dbCopy, DbCopyOptions } from "../../scripts/dbCopy";
import { dbReset } from "../../scripts/dbReset";
import { keel } from "../support/keel";
import { ROOT } from "../support/repoRoot";
import { freshDatabase, queryRows } from "../support/postgres";

const sql = queryRows;
import { tempDir } from "../support/tempDir";

const KEY = "command-test-key-0123456789abcdef";

const RULES = "accounts:\n  id: keep\n  email: email\n  full_name: name\n";

function project(files: Record<string, string> = {}): string {
    const root = tempDir("keel-copy-cmd-");
    const all: Record<string, string> = {
        "Pulumi.yaml": "name: shop\nruntime: nodejs\n",
        "Pulumi.prod.yaml": "config:\n  keel:database:\n    kind: external\n  keel:databaseUrl:\n    secure: v1:AAAA\n",
        "Pulumi.staging.yaml": "config:\n  keel:database:\n    kind: external\n  keel:databaseUrl:\n    secure: v1:AAAA\n",
        "db/masking.yaml": RULES,
        ...files,
    };
    for (const [name, text] of Object.entries(all)) {
        fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
        fs.writeFileSync(path.join(root, name), text);
    }
    return root;
}

/**
 * The command's function with the stacks' URLs given: reading a deployed stack's output through the engine is
 * stackDatabase's, tested in test/scripts; errors come back as the CLI prints them (message, exit code).
 */
async function copy(root: string, o: DbCopyOptions, urls: Record<string, string>, env: Record<string, string> = { KEEL_MASKING_KEY: KEY }) {
    const out: string[] = [];
    try {
        const code = await dbCopy(o, {
            root,
            env,
            out: (l) => void out.push(l),
            confirm: async () => false,
            databaseOf: async (stack) => urls[stack] ?? assert.fail(`no URL for ${stack}`),
        });
        return { code, out: out.join("\n"), err: "" };
    } catch (e: any) {
        return { code: e.name === "UsageError" ? 2 : 1, out: out.join("\n"), err: String(e.message) };
    }
}

async function seeded(): Promise<string> {
    const url = await freshDatabase("cmd_src");
    await sql(
        url,
        "CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE, full_name text); INSERT INTO accounts VALUES (1, 'ada@mail.test', 'Ada Lovelace'), (2, 'alan@mail.test', 'Alan Turing')",
    );
    return url;
}

describe("keel db copy (command line, real PostgreSQL)", function () {
    this.timeout(120000);

    it("answers --help with its options", async () => {
        const r = await keel(["db", "copy", "--help"]);
        assert.equal(r.code, 0, r.err);
        for (const o of ["--from", "--to", "--schema-only", "--tables", "--masked", "--unmasked", "--yes"])
            assert.match(r.out, new RegExp(o));
    });

    it("from a prod-stage stack: masked, the plan printed, then the copy (exit 0)", async () => {
        const prod = await seeded();
        const target = await freshDatabase("cmd_dst");
        const r = await copy(project(), { from: "prod", to: target, yes: true }, { prod });
        assert.equal(r.code, 0, r.err + r.out);
        assert.match(r.out, /db copy of the data, masked by db\/masking\.yaml\n {2}from stack 'prod' \(prod, /);
        assert.match(r.out, /accounts: rows copied; masked: email \(email\), full_name \(name\)/);
        assert.match(r.out, /checked: no original value in 2 masked columns/);
        const rows = await sql(target, "SELECT email, full_name FROM accounts ORDER BY id");
        assert.equal(rows.length, 2);
        assert.doesNotMatch(JSON.stringify(rows), /mail\.test|Ada|Alan Turing/);
        assert.doesNotMatch(r.out + r.err, /ada@mail|Lovelace/, "no personal value is printed");
    });

    it("from a URL: masked unless --unmasked; between non-prod stacks: unmasked unless --masked", async () => {
        const src = await seeded();
        const target = await freshDatabase("cmd_dst");
        const root = project();
        let r = await keel(["db", "copy", "--from", src, "--to", target, "--yes"], root, { KEEL_MASKING_KEY: KEY });
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM accounts WHERE email LIKE '%@mail.test'"), [{ n: 0 }]);
        r = await keel(["db", "copy", "--from", src, "--to", target, "--unmasked", "--yes"], root, {});
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM accounts WHERE email LIKE '%@mail.test'"), [{ n: 2 }]);
        // staging → URL: unmasked by default (staging's data is already what it is).
        r = await copy(root, { from: "staging", to: target, yes: true }, { staging: src }, {});
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /db copy of the data, unmasked/);
    });

    it("refuses, changing nothing: into prod, --unmasked from prod, a mistyped stack, no rules file, no key, bad rules, no --from", async () => {
        const prod = await seeded();
        const target = await freshDatabase("cmd_dst");
        await sql(target, "CREATE TABLE untouched (x int)");
        const env = { KEEL_MASKING_KEY: KEY };
        const cases: [string[], Record<string, string>, RegExp, number, Record<string, string>?][] = [
            [["--from", target, "--to", "prod"], env, /'prod' is a prod-stage stack: a copy never overwrites prod/, 1],
            [["--from", "prod", "--to", target, "--unmasked"], env, /--unmasked is refused: 'prod' is a prod-stage stack/, 1],
            [
                ["--from", "prd", "--to", target],
                env,
                /--from 'prd' is neither a postgres:\/\/ URL nor a stack of this project; did you mean 'prod'\?/,
                2,
            ],
            [
                ["--from", "prod", "--to", target],
                env,
                /the masking rules file db\/masking\.yaml does not exist: write it with keel db mask-init/,
                1,
                { "db/masking.yaml": "" },
            ],
            [["--from", "prod", "--to", target], {}, /needs the target's masking key, and there is none: export KEEL_MASKING_KEY=/, 1],
            [["--from", "prod", "--to", target], { ...env, KEEL_MASKING_KEY: "short" }, /shorter than 16 bytes/, 1],
            [
                ["--from", "prod", "--to", target],
                env,
                /db\/masking\.yaml:4: accounts\.full_name: .nmae. is not a masking strategy\n {4}fix: did you mean .name.\?/,
                1,
                { "db/masking.yaml": RULES.replace("full_name: name", "full_name: nmae") },
            ],
            [
                ["--from", "prod", "--to", target],
                env,
                /accounts\.email \(text\) has no masking rule .*\n {2}- db\/masking\.yaml:3: the rule for column accounts\.emial names nothing in the source; delete the rule \(renamed to email\? then rename the key\)/,
                1,
                { "db/masking.yaml": RULES.replace("email: email", "emial: email") },
            ],
            [["--to", "staging"], env, /--from <stack\|url> is required \(or set keel:copyFrom in Pulumi\.staging\.yaml/, 2],
        ];
        for (const [argv, e, message, code, files] of cases) {
            const root = project(files);
            if (files?.["db/masking.yaml"] === "") fs.rmSync(path.join(root, "db/masking.yaml"));
            const o: DbCopyOptions = { yes: true };
            for (let i = 0; i < argv.length; i += 2) (o as any)[argv[i].slice(2)] = argv[i + 1] ?? true;
            if (argv.includes("--unmasked")) o.unmasked = true;
            const r = await copy(root, o, { prod, staging: target }, e);
            assert.equal(r.code, code, `${argv.join(" ")}: ${r.err}`);
            assert.match(r.err, message, `${argv.join(" ")}: ${r.err}`);
        }
        assert.deepEqual(await sql(target, "SELECT to_regclass('untouched')::text AS t"), [{ t: "untouched" }]);
    });

    it("--schema-only from prod needs no rules and no key: no rows leave", async () => {
        const prod = await seeded();
        const target = await freshDatabase("cmd_dst");
        const root = project();
        fs.rmSync(path.join(root, "db/masking.yaml"));
        const r = await copy(root, { from: "prod", to: target, schemaOnly: true, yes: true }, { prod }, {});
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /db copy of the schema\n/);
        assert.deepEqual(await sql(target, "SELECT count(*)::int AS n FROM accounts"), [{ n: 0 }]);
    });

    it("a column the rules miss refuses before anything is written, naming the column and the line to add", async () => {
        const prod = await seeded();
        await sql(prod, "ALTER TABLE accounts ADD COLUMN phone text");
        const target = await freshDatabase("cmd_dst");
        const r = await copy(project(), { from: "prod", to: target, yes: true }, { prod });
        assert.equal(r.code, 1);
        assert.match(
            r.err,
            /accounts\.phone \(text\) has no masking rule \(the live catalog of 127\.0\.0\.1:\d+\/\w+ has it\); in db\/masking\.yaml, add under 'accounts:' the line 'phone: phone/,
        );
        assert.deepEqual(await sql(target, "SELECT to_regclass('accounts')::text AS t"), [{ t: null }]);
    });

    it("without --yes and without a terminal: the plan, then nothing changed (exit 1)", async () => {
        const prod = await seeded();
        const target = await freshDatabase("cmd_dst");
        const r = await copy(project(), { from: "prod", to: target }, { prod });
        assert.equal(r.code, 1, r.err);
        assert.match(r.out, /Nothing was changed\. \(Pass --yes/);
        assert.deepEqual(await sql(target, "SELECT to_regclass('accounts')::text AS t"), [{ t: null }]);
    });

    it("db reset of a stack that is not on Neon is the copy from its keel:copyFrom (masked: the source is prod)", async () => {
        const prod = await seeded();
        const staging = await freshDatabase("cmd_dst");
        const root = project({
            "Pulumi.staging.yaml":
                "config:\n  keel:database:\n    kind: external\n  keel:databaseUrl:\n    secure: v1:AAAA\n  keel:copyFrom: prod\n",
        });
        const out: string[] = [];
        const code = await dbReset(
            { stack: "staging", yes: true },
            {
                root,
                env: { KEEL_MASKING_KEY: KEY },
                out: (l) => void out.push(l),
                confirm: async () => false,
                databaseOf: async (s) => ({ prod, staging })[s]!,
            },
        );
        assert.equal(code, 0, out.join("\n"));
        assert.match(out.join("\n"), /db copy of the data, masked by db\/masking\.yaml\n {2}from stack 'prod'/);
        assert.deepEqual(await sql(staging, "SELECT count(*)::int AS n FROM accounts WHERE email LIKE '%@mail.test'"), [{ n: 0 }]);
        assert.deepEqual(await sql(staging, "SELECT count(*)::int AS n FROM accounts"), [{ n: 2 }]);
    });
});

describe("keel db copy, interrupted (a process, real PostgreSQL)", function () {
    this.timeout(120000);

    it("Ctrl-C during the rows: the unfinished copy is dropped, the target is left as it was, exit 1", async () => {
        const source = await freshDatabase("cmd_src");
        const target = await freshDatabase("cmd_dst");
        // A rule that sleeps 2 ms a row: the rows take about 10 s, time enough to interrupt them.
        await sql(
            source,
            "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 5000) g",
        );
        await sql(target, "CREATE TABLE untouched (x int)");
        const root = project({
            "db/masking.yaml": "notes:\n  id: keep\n  body: { sql: \"CASE WHEN pg_sleep(0.002)::text = '' THEN 'x' END\" }\n",
        });
        const child = spawn(process.execPath, [path.join(ROOT, "keel"), "db", "copy", "--from", source, "--to", target, "--yes"], {
            cwd: root,
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", KEEL_MASKING_KEY: KEY },
        });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        // Bounded by the test's timeout: the rows start within seconds.
        while (!/reading the schema/.test(out)) {
            if (child.exitCode !== null) assert.fail(`the copy ended before its rows:\n${out}`);
            await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 1500));
        child.kill("SIGINT");
        assert.equal(await exited, 1, out);
        assert.match(out, /keel: interrupted: dropping the unfinished copy; the target is left as it was/);
        assert.match(out, /Interrupted: the unfinished copy was dropped; '\w+' was not changed\./);
        assert.deepEqual(await sql(target, "SELECT to_regclass('untouched')::text AS t"), [{ t: "untouched" }]);
        const left = await sql(target, "SELECT datname FROM pg_database WHERE datname LIKE $1", [
            `${new URL(target).pathname.slice(1)}_keel_copy%`,
        ]);
        assert.deepEqual(left, []);
    });
});
