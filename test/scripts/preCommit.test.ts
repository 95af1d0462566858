/**
 * The pre-commit hook as git runs it: a real repository, `npm run hooks:install`'s
 * command, files staged, `git commit` with Keel's committed .githooks/pre-commit
 * (linked into the repository, Keel's code beside it). Each kind of problem is
 * refused with file:line and the way to commit anyway; the index is what counts.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as path from "path";
import { buildKeel, GitRepo, ROOT } from "../support/gitRepo";

/** A random-looking token body made at run time, so that no test file holds one. */
function tokenBody(length: number, seed: string): string {
    let out = "";
    for (let i = 0; out.length < length; i++)
        out += createHash("sha256")
            .update(`${seed}:${i}`)
            .digest("base64")
            .replace(/[^A-Za-z0-9]/g, "");
    return out.slice(0, length);
}

const CLEAN_TS =
    'export function add(a: number, b: number): number {\n    return a + b;\n}\n// console.log( in a comment is not code: "debugger;"\n';

function hookedRepo(): GitRepo {
    const repo = new GitRepo();
    repo.linkKeelHooks();
    const r = repo.keel("hooks", ["install"]);
    assert.equal(r.code, 0, r.stderr);
    return repo;
}

describe("pre-commit hook (git commit in a real repository)", function () {
    this.timeout(120000);

    before(() => buildKeel());

    it("a clean commit passes, and the first commit of a repository too", () => {
        const repo = hookedRepo();
        repo.stage({
            "src/add.ts": CLEAN_TS,
            "migrations/0001_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n",
            "README.md": "Connect with postgres://user:pw@localhost:5432/app.\n",
        });
        const r = repo.commit("first");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /pre-commit: 3 staged files checked, no problems/);
        assert.equal(repo.commits(), 1);
    });

    it("a debug leftover is refused with file:line, what it is, and git commit --no-verify; nothing is committed", () => {
        const repo = hookedRepo();
        repo.stage({ "src/add.ts": CLEAN_TS });
        assert.equal(repo.commit("base").code, 0);
        repo.stage({
            "src/add.ts": CLEAN_TS.replace("    return a + b;", "    console.log(a, b);\n    debugger;\n    return a + b;"),
            "test/add.test.ts": 'describe.only("add", () => {\n    it("adds", () => undefined);\n});\n',
        });
        const r = repo.commit("leftovers");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /✗ src\/add\.ts:2: debug leftover 'console\.log\('/);
        assert.match(r.stderr, /✗ src\/add\.ts:3: debug leftover 'debugger;'/);
        assert.match(r.stderr, /✗ test\/add\.test\.ts:1: debug leftover '\.only\('/);
        assert.match(r.stderr, /3 problems in the staged changes/);
        assert.match(r.stderr, /To commit anyway, once and on purpose: git commit --no-verify/);
        assert.equal(repo.commits(), 1, "nothing committed");

        // The bypass the message names works.
        const bypass = repo.commit("leftovers, on purpose", "--no-verify");
        assert.equal(bypass.code, 0, bypass.stderr);
        assert.equal(repo.commits(), 2);
    });

    it("checks only the lines a commit adds: a leftover already committed does not refuse an edit elsewhere in the file", () => {
        const repo = hookedRepo();
        repo.stage({ "src/log.ts": "export const a = 1;\nconsole.log(a);\n" });
        assert.equal(repo.commit("old leftover", "--no-verify").code, 0);
        repo.stage({ "src/log.ts": "export const a = 2;\nconsole.log(a);\n" });
        const r = repo.commit("edit another line");
        assert.equal(r.code, 0, r.stderr);
    });

    it("checks the index, not the working tree: unstaged changes are ignored, and staged line numbers are reported", () => {
        const repo = hookedRepo();
        repo.stage({ "src/add.ts": CLEAN_TS });
        // A leftover in the working tree only: not part of the commit.
        repo.write({ "src/add.ts": `console.log("wip");\n${CLEAN_TS}` });
        const clean = repo.commit("clean staged, dirty tree");
        assert.equal(clean.code, 0, clean.stderr);

        // A leftover staged and then fixed in the working tree only (lines moved too): still refused, at its staged line.
        repo.stage({ "src/b.ts": "export const b = 1;\n\nconsole.log(b);\n" });
        repo.write({ "src/b.ts": "// moved\n// down\nexport const b = 1;\n" });
        const staged = repo.commit("staged leftover");
        assert.equal(staged.code, 1);
        assert.match(staged.stderr, /src\/b\.ts:3: debug leftover 'console\.log\('/);
        assert.doesNotMatch(staged.stderr, /src\/add\.ts/);
    });

    it("git commit -a: the index git builds for the commit is the one checked", () => {
        const repo = hookedRepo();
        repo.stage({ "src/add.ts": CLEAN_TS });
        assert.equal(repo.commit("base").code, 0);
        repo.write({ "src/add.ts": `${CLEAN_TS}debugger;\n` });
        const r = repo.commit("all", "-a");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /src\/add\.ts:5: debug leftover 'debugger;'/);
    });

    it("text that looks like a secret is refused, masked: the secret itself is never printed", () => {
        const repo = hookedRepo();
        const github = `ghp_${tokenBody(36, "github")}`;
        const aws = `AKIA${tokenBody(16, "aws").toUpperCase()}`;
        const password = tokenBody(20, "db-password");
        const key = ["-----BEGIN", "OPENSSH PRIVATE KEY-----"].join(" ");
        repo.stage({
            "config/app.env": `PORT=8080\nGITHUB_TOKEN=${github}\nAWS_ACCESS_KEY_ID=${aws}\n`,
            "src/db.ts": `export const url = "postgres://app:${password}@db.prod.internal:5432/app";\n`,
            "deploy/id_ed25519": `${key}\nb3BlbnNzaC1rZXktdjEAAAAA\n`,
        });
        const r = repo.commit("secrets");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /✗ config\/app\.env:2: looks like a GitHub token \(ghp_\*\*\*\*\)/);
        assert.match(r.stderr, /✗ config\/app\.env:3: looks like an AWS access key id \(AKIA\*\*\*\*\)/);
        assert.match(r.stderr, /✗ src\/db\.ts:1: looks like a URL with a password \(postgres:\/\/app:\*\*\*\*@db\.prod\.internal\)/);
        assert.match(r.stderr, /✗ deploy\/id_ed25519:1: looks like a private key \(-{5}BEGIN OPENSSH PRIVATE KEY-{5}\)/);
        assert.match(r.stderr, /git commit --no-verify/);
        for (const secret of [github.slice(4), aws.slice(4), password]) {
            assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), "a secret was printed");
        }
        assert.equal(repo.commits(), 0);
    });

    it("placeholders are not secrets: local and example URLs, templates, and URLs in test files", () => {
        const repo = hookedRepo();
        repo.stage({
            "src/local.ts": [
                'export const a = "postgres://user:pw@localhost:5432/app";',
                "export const b = `postgres://app:${process.env.PGPASSWORD}@db.internal/app`;",
                'export const c = "postgres://app:s3cr3tValue99@db.example.com/app";',
                'export const d = "AKIAIOSFODNN7EXAMPLE";',
                "",
            ].join("\n"),
            "test/fixture.test.ts": 'export const url = "postgres://app:hunter2-but-longer@db.internal:5432/app";\n',
        });
        const r = repo.commit("placeholders");
        assert.equal(r.code, 0, r.stderr);
    });

    it("a migration that does not parse is refused with file:line", () => {
        const repo = hookedRepo();
        repo.stage({ "migrations/0001_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\n" });
        assert.equal(repo.commit("base").code, 0);
        repo.stage({ "migrations/0002_broken.sql": "-- orders\nCREATE TABLE orders (id bigint PRIMARY KEY,;\n" });
        const r = repo.commit("broken");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /✗ migrations\/0002_broken\.sql:2:\d+: SQL syntax error/);
        assert.match(r.stderr, /git commit --no-verify/);
    });

    it("with db/masking.yaml in the index, a new column without a rule is refused naming file:line and the line to add; a stale rule too", () => {
        const repo = hookedRepo();
        repo.stage({
            "migrations/0001_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n",
            "db/masking.yaml": "accounts:\n  id: keep\n  email: email\n",
        });
        const base = repo.commit("base");
        assert.equal(base.code, 0, base.stderr);

        // The rules file staged alone is checked: a rule for a column no migration leaves is stale.
        repo.stage({ "db/masking.yaml": "accounts:\n  id: keep\n  email: email\n  fax: phone\n" });
        const stale = repo.commit("a rule ahead of its migration");
        assert.equal(stale.code, 1, stale.stderr);
        assert.match(stale.stderr, /✗ db\/masking\.yaml:4: the masking rule for column accounts\.fax is stale/);
        repo.stage({ "db/masking.yaml": "accounts:\n  id: keep\n  email: email\n" });

        repo.stage({ "migrations/0002_add_phone.sql": "-- phones\nALTER TABLE accounts ADD COLUMN phone text;\n" });
        const r = repo.commit("phone");
        assert.equal(r.code, 1, r.stderr);
        assert.match(
            r.stderr,
            /✗ migrations\/0002_add_phone\.sql:2: column accounts\.phone \(text\) has no masking rule in db\/masking\.yaml/,
        );
        assert.match(r.stderr, /fix: in db\/masking\.yaml, add under 'accounts:' the line 'phone: phone/);
        assert.equal(repo.commits(), 1, "nothing committed");

        // Rules and migration together: complete, committed.
        repo.stage({ "db/masking.yaml": "accounts:\n  id: keep\n  email: email\n  phone: phone\n" });
        const ok = repo.commit("phone, classified");
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(repo.commits(), 2);
    });

    it("without db/masking.yaml, a migration adding a column is not checked for masking", () => {
        const repo = hookedRepo();
        repo.stage({ "migrations/0001_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, phone text);\n" });
        const r = repo.commit("no rules");
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /masking/);
    });

    it("a destructive migration needs -- keel:allow-destructive", () => {
        const repo = hookedRepo();
        repo.stage({ "migrations/0001_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, legacy text);\n" });
        assert.equal(repo.commit("base").code, 0);
        repo.stage({ "migrations/0002_drop_legacy.sql": "-- the legacy column goes\nALTER TABLE accounts DROP COLUMN legacy;\n" });
        const r = repo.commit("destructive");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /✗ migrations\/0002_drop_legacy\.sql:2: .*DROP COLUMN.*lacks '-- keel:allow-destructive'/);

        repo.stage({ "migrations/0002_drop_legacy.sql": "-- keel:allow-destructive\nALTER TABLE accounts DROP COLUMN legacy;\n" });
        const allowed = repo.commit("destructive, meant");
        assert.equal(allowed.code, 0, allowed.stderr);
    });

    it("a new migration older than the newest committed one is refused unless keel:migrations.outOfOrder is on", () => {
        const repo = hookedRepo();
        repo.stage({
            "Pulumi.dev.yaml": "config:\n  keel:migrations:\n    dir: db/migrations\n",
            "db/migrations/0001_a.sql": "CREATE TABLE a (id int);\n",
            "db/migrations/0003_c.sql": "CREATE TABLE c (id int);\n",
        });
        assert.equal(repo.commit("base").code, 0);
        repo.stage({ "db/migrations/0002_b.sql": "CREATE TABLE b (id int);\n" });
        const r = repo.commit("out of order");
        assert.equal(r.code, 1);
        assert.match(
            r.stderr,
            /db\/migrations\/0002_b\.sql: version 2 is older than db\/migrations\/0003_c\.sql, the newest committed migration/,
        );
        assert.match(r.stderr, /outOfOrder is off on dev/);

        repo.stage({ "Pulumi.dev.yaml": "config:\n  keel:migrations:\n    dir: db/migrations\n    outOfOrder: true\n" });
        const allowed = repo.commit("out of order, allowed");
        assert.equal(allowed.code, 0, allowed.stderr);
    });

    it("a migration named wrongly or reusing a version is refused; editing a committed one is a warning", () => {
        const repo = hookedRepo();
        repo.stage({ "migrations/0001_a.sql": "CREATE TABLE a (id int);\n" });
        assert.equal(repo.commit("base").code, 0);
        repo.stage({ "migrations/add_b.sql": "CREATE TABLE b (id int);\n", "migrations/1_also_a.sql": "CREATE TABLE a2 (id int);\n" });
        const r = repo.commit("names");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /migrations\/add_b\.sql: name must be <version>_<name>\.sql/);
        assert.match(r.stderr, /migrations\/1_also_a\.sql: version 1 is also used by migrations\/0001_a\.sql/);

        repo.git("rm", "-q", "--cached", "migrations/add_b.sql", "migrations/1_also_a.sql");
        repo.stage({ "migrations/0001_a.sql": "CREATE TABLE a (id bigint);\n" });
        const edited = repo.commit("edit");
        assert.equal(edited.code, 0, edited.stderr);
        assert.match(edited.stderr, /! migrations\/0001_a\.sql: a committed migration is edited/);
    });

    it("the hook answers --help (exit 0) and a wrong option with the usage (exit 2)", () => {
        const repo = new GitRepo();
        const hook = path.join(ROOT, ".githooks", "pre-commit");
        const help = repo.run("sh", [hook, "--help"]);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: keel hooks pre-commit/);
        assert.match(help.stdout, /sh\s+\.githooks\/pre-commit/);
        assert.match(help.stdout, /git commit --no-verify/);
        const wrong = repo.run("sh", [hook, "--bogus"]);
        assert.equal(wrong.code, 2);
        assert.match(wrong.stderr, /unknown option '--bogus'/);
    });
});
