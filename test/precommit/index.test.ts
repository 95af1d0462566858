/**
 * The hook's decisions without git: diff parsing, debug leftovers, secret
 * patterns and their masking (never the secret itself), placeholders, and the
 * staged-migration verdicts.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import {
    addedLines,
    checkStagedMasking,
    checkStagedMigrations,
    codeOf,
    debugLeftovers,
    findSecrets,
    formatHookReport,
    isPlaceholderToken,
    parseNameStatus,
    secretsIn,
    StagedMigrationsInput,
    unquotePath,
} from "../../components/precommit/index";

const lines = (...texts: string[]) => texts.map((text, i) => ({ line: i + 1, text }));
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/**
 * A body of `n` random characters, leaving out the few that the placeholder rule (pinned by its own
 * tests below) treats as stand-ins: a run of letters starting or ending with a word like FAKE.
 */
const randomBody = (n: number, alphabet = ALNUM) =>
    fc
        .array(fc.constantFrom(...alphabet), { minLength: n, maxLength: n })
        .map((cs) => cs.join(""))
        .filter((s) => !isPlaceholderToken(s));

describe("pre-commit: staged diffs", () => {
    it("reads name-status -z, renames and copies with their source", () => {
        assert.deepEqual(parseNameStatus("M\0a.ts\0R087\0old.sql\0new.sql\0A\0b c.ts\0D\0gone.ts\0C100\0x\0y\0"), [
            { status: "M", path: "a.ts" },
            { status: "R", path: "new.sql", from: "old.sql" },
            { status: "A", path: "b c.ts" },
            { status: "D", path: "gone.ts" },
            { status: "C", path: "y", from: "x" },
        ]);
        assert.deepEqual(parseNameStatus(""), []);
    });

    it("finds the added lines with their staged line numbers, per file", () => {
        const patch = [
            "diff --git a/src/a.ts b/src/a.ts",
            "index 1..2 100644",
            "--- a/src/a.ts",
            "+++ b/src/a.ts",
            "@@ -2 +2,2 @@ export function",
            "-old",
            "+new two",
            "+new three",
            "@@ -10,0 +12 @@",
            "++++ an added line that starts with +++",
            "\\ No newline at end of file",
            "diff --git a/gone.ts b/gone.ts",
            "deleted file mode 100644",
            "--- a/gone.ts",
            "+++ /dev/null",
            "@@ -1 +0,0 @@",
            "-x",
            "diff --git a/img.png b/img.png",
            "Binary files a/img.png and b/img.png differ",
            'diff --git "a/sp\\303\\251cial\\tname.ts" "b/sp\\303\\251cial\\tname.ts"',
            "new file mode 100644",
            "--- /dev/null",
            '+++ "b/sp\\303\\251cial\\tname.ts"',
            "@@ -0,0 +1 @@",
            "+crlf\r",
            "",
        ].join("\n");
        const added = addedLines(patch);
        assert.deepEqual([...added.keys()], ["src/a.ts", "spécial\tname.ts"]);
        assert.deepEqual(added.get("src/a.ts"), [
            { line: 2, text: "new two" },
            { line: 3, text: "new three" },
            { line: 12, text: "+++ an added line that starts with +++" },
        ]);
        assert.deepEqual(added.get("spécial\tname.ts"), [{ line: 1, text: "crlf" }]);
    });

    it("unquotes git's C-quoted paths", () => {
        assert.equal(unquotePath('"a\\"b\\\\c"'), 'a"b\\c');
        assert.equal(unquotePath("plain/path.ts"), "plain/path.ts");
    });
});

describe("pre-commit: debug leftovers", () => {
    it("finds console.log(, debugger; and .only( in code, with file:line", () => {
        const found = debugLeftovers(
            "src/x.ts",
            lines("const a = 1;", "  console.log(a);", "debugger;", 'describe.only("x", () => {});', "it.only('y', f)", "debugger"),
        );
        assert.deepEqual(
            found.map((f) => f.message),
            [
                "src/x.ts:2: debug leftover 'console.log('",
                "src/x.ts:3: debug leftover 'debugger;'",
                "src/x.ts:4: debug leftover '.only('",
                "src/x.ts:5: debug leftover '.only('",
                "src/x.ts:6: debug leftover 'debugger;'",
            ],
        );
        assert.ok(found.every((f) => f.level === "error" && f.fix));
    });

    it("leaves strings, comments, other files, the console programs and marked lines alone", () => {
        const quiet = lines(
            'throw new Error("remove console.log( and debugger; and it.only( first");',
            "// console.log(x); debugger;",
            " * e.g. describe.only(...) in a doc comment",
            "const t = `console.log(${x})`;",
            "const debuggerEnabled = true; obj.debugger = 1;",
            "const only = list.only(3);",
            "console.log(report); // keel:allow-debug",
        );
        assert.deepEqual(debugLeftovers("src/x.ts", quiet), []);
        assert.deepEqual(debugLeftovers("README.md", lines("console.log(1); debugger;")), []);
        assert.deepEqual(debugLeftovers("bench/engine.ts", lines("console.log(median);")), []);
        assert.equal(debugLeftovers("bench/engine.ts", lines("debugger;")).length, 1);
        assert.equal(codeOf('a("x//y") // c'), 'a("") ');
    });
});

describe("pre-commit: secrets", () => {
    const tokens: [string, string, fc.Arbitrary<string>][] = [
        ["a GitHub token", "ghp_", randomBody(36)],
        ["a GitHub token", "gho_", randomBody(36)],
        ["a GitHub fine-grained token", "github_pat_", randomBody(82)],
        ["an AWS access key id", "AKIA", randomBody(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")],
        ["a Stripe live key", "sk_live_", randomBody(24)],
        ["a Slack token", "xoxb-", randomBody(40)],
        ["a Neon API key", "napi_", randomBody(64)],
        ["a Fly.io token", "fo1_", randomBody(43)],
        ["a Render API key", "rnd_", randomBody(32)],
        ["a Pulumi access token", "pul-", randomBody(40, "0123456789abcdef")],
    ];

    for (const [kind, prefix, body] of tokens) {
        it(`finds ${kind} (${prefix}…) and shows only its prefix`, () => {
            fc.assert(
                fc.property(body, fc.constantFrom("TOKEN=", 'token: "', " ", "Bearer "), (b, before) => {
                    const line = `${before}${prefix}${b}"`;
                    const found = findSecrets(line);
                    assert.equal(found.length, 1, line);
                    assert.equal(found[0].kind, kind);
                    assert.equal(found[0].masked, `${prefix}****`);
                    assert.equal(found[0].column, before.length + 1);
                }),
                { numRuns: 50 },
            );
        });
    }

    it("finds private keys and URLs with a password, masked", () => {
        const key = ["-----BEGIN", "RSA PRIVATE KEY-----"].join(" ");
        assert.deepEqual(findSecrets(key), [{ kind: "a private key", masked: key, column: 1 }]);
        fc.assert(
            fc.property(randomBody(16), (pw) => {
                const found = findSecrets(`DATABASE_URL=postgresql://app:${pw}@ep-cool-1.us-east-2.aws.neon.tech/app`);
                assert.deepEqual(found, [
                    { kind: "a URL with a password", masked: "postgresql://app:****@ep-cool-1.us-east-2.aws.neon.tech", column: 14 },
                ]);
            }),
            { numRuns: 30 },
        );
        assert.equal(findSecrets("redis://:Zq81vLm0Tx@cache.internal:6379").length, 1);
    });

    it("a placeholder word inside a run of random letters, or in mixed case, does not hide a real token", () => {
        fc.assert(
            fc.property(
                fc.constantFrom("example", "placeholder", "dummy", "fake", "redacted", "xxxx"),
                fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }),
                fc.stringMatching(/^[A-Za-z]{2,6}$/),
                fc.stringMatching(/^[A-Za-z]{2,6}$/),
                (word, upper, before, after) => {
                    // A random token whose letters happen to spell the word somewhere.
                    const spelled = [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
                    const middle = `Zq81vL${before}${spelled}${after}0Tx`;
                    const body = `${middle}${"A2bC3dE4fG5hI6jK7lM8nO9pQr".slice(0, 36 - middle.length)}`.slice(0, 36);
                    fc.pre(body.length === 36 && body.includes(spelled));
                    assert.equal(findSecrets(`TOKEN=ghp_${body}`).length, 1, body);
                },
            ),
            { numRuns: 200 },
        );
        assert.equal(findSecrets(`TOKEN=ghp_AAAAAAAAAAAAAAAAAAAFAkeAAAAAAAAAnEvl`).length, 1, "fast-check's counterexample from CI");
        assert.equal(findSecrets(`TOKEN=ghp_Zq81vLm0TxA2bC3dE4fG5hI6jK7lM8nQxXxx`).length, 1, "mixed-case xxxx at a run's end");
    });

    it("leaves placeholders alone: documentation keys, low-variety bodies, local or example hosts, template passwords", () => {
        for (const text of [
            "AKIAIOSFODNN7EXAMPLE",
            "sk_live_fake_key_for_the_docs_123",
            "ghp_Fake0Zq81vLm0TxA2bC3dE4fG5hI6jK7lM8n",
            "ghp_Zq81vLm0TxA2bC3dE4fG5hI6jK7lM8n9REDACTED",
            `ghp_${"x".repeat(36)}`,
            `ghp_${"ab".repeat(18)}`,
            "napi_must_not_be_serialized",
            "fo1_wrong_token",
            "postgres://user:pw@localhost:5432/app",
            "postgres://app:Zq81vLm0Tx@127.0.0.1:5432/app",
            "postgres://app:Zq81vLm0Tx@[::1]:5432/app",
            "postgres://app:Zq81vLm0Tx@db.example.com/app",
            "postgres://app:Zq81vLm0Tx@stack-file.invalid/app",
            "postgres://app:${password}@db.internal/app",
            "postgres://app:$PGPASSWORD@db.internal/app",
            "postgres://app:<password>@db.internal/app",
            "postgres://app:****@db.internal/app",
            "postgres://app:password@db.internal/app",
            "postgres://encrypted@stack-file.invalid:5432/app",
            "https://github.com/org/repo",
        ]) {
            assert.deepEqual(findSecrets(text), [], text);
        }
    });

    it("reports file:line, and in test files looks for tokens and keys but not URL passwords", () => {
        const url = "postgres://app:Zq81vLm0Tx@db.internal/app";
        const token = ["ghp", "Zq81vLm0TxA2bC3dE4fG5hI6jK7lM8nO9pQr"].join("_");
        assert.deepEqual(
            secretsIn("src/db.ts", lines("x", url)).map((f) => f.message),
            ["src/db.ts:2: looks like a URL with a password (postgres://app:****@db.internal)"],
        );
        assert.deepEqual(secretsIn("test/db.test.ts", lines(url)), []);
        assert.deepEqual(secretsIn("src/db.spec.ts", lines(url)), []);
        assert.equal(secretsIn("test/db.test.ts", lines(token)).length, 1);
        assert.deepEqual(secretsIn("src/db.ts", lines(`${url} // keel:allow-secret`)), []);
        const printed = JSON.stringify(secretsIn("a.env", lines(`T=${token}`, url)));
        assert.ok(!printed.includes("Zq81vLm0Tx"), printed);
    });
});

describe("pre-commit: staged migrations", () => {
    function input(files: Record<string, string>, over: Partial<StagedMigrationsInput> = {}): StagedMigrationsInput {
        const names = Object.keys(files).map((p) => p.slice("migrations/".length));
        return {
            dir: "migrations",
            changes: Object.keys(files).map((p) => ({ status: "A", path: p })),
            indexNames: names,
            headNames: [],
            stacks: [{ stack: "dev", dir: "migrations", outOfOrder: false }],
            read: (p) => Buffer.from(files[p]),
            ...over,
        };
    }
    const messages = async (i: StagedMigrationsInput) => (await checkStagedMigrations(i)).map((f) => `${f.level} ${f.message}`);

    it("passes a file that parses and is not destructive", async () => {
        assert.deepEqual(await messages(input({ "migrations/0001_a.sql": "CREATE TABLE a (id int);\n" })), []);
    });

    it("refuses syntax errors (file:line:column), bad names, bad directives and destructive files without the directive", async () => {
        const found = await messages(
            input({
                "migrations/0001_a.sql": "CREATE TABLE a (id int);\n\nSELEC 1;\n",
                "migrations/0002_b.sql": "DROP TABLE a;\n",
                "migrations/0003_c.sql": "-- keel:allow-destructive\nDROP TABLE b;\n",
                "migrations/0004_d.sql": "-- keel:no-transactions\nSELECT 1;\n",
                "migrations/notes.txt": "x",
                "migrations/README.md": "ignored",
            }),
        );
        assert.equal(found.length, 4, found.join("\n"));
        assert.match(found[0], /^error migrations\/0001_a\.sql:3:1: SQL syntax error/);
        assert.match(found[1], /^error migrations\/0004_d\.sql: unknown directive '-- keel:no-transactions'/);
        assert.match(found[2], /^error migrations\/notes\.txt: name must be <version>_<name>\.sql/);
        assert.match(
            found[3],
            /^error migrations\/0002_b\.sql:1: DROP TABLE a: destructive, and the file lacks '-- keel:allow-destructive'/,
        );
    });

    it("refuses a new file older than the newest committed one, naming the stacks that refuse it, unless all allow it", async () => {
        const files = { "migrations/0002_b.sql": "CREATE TABLE b (id int);\n" };
        const head = ["0001_a.sql", "0003_c.sql"];
        const stacks = [
            { stack: "dev", dir: "migrations", outOfOrder: true },
            { stack: "prod", dir: "migrations", outOfOrder: false },
        ];
        const refused = await messages(input(files, { headNames: head, indexNames: [...head, "0002_b.sql"], stacks }));
        assert.equal(refused.length, 1);
        assert.match(
            refused[0],
            /version 2 is older than migrations\/0003_c\.sql, the newest committed migration.*outOfOrder is off on prod\)$/,
        );
        const allowed = stacks.map((s) => ({ ...s, outOfOrder: true }));
        assert.deepEqual(await messages(input(files, { headNames: head, stacks: allowed })), []);
        // No stack files: the default (refused).
        assert.match((await messages(input(files, { headNames: head, stacks: [] })))[0], /off by default/);
        // Newer than everything committed, or no commit yet: fine.
        assert.deepEqual(await messages(input({ "migrations/0004_d.sql": "SELECT 1;\n" }, { headNames: head })), []);
        assert.deepEqual(await messages(input(files, { headNames: undefined })), []);
    });

    it("refuses a reused version; warns about committed files edited, renamed or deleted", async () => {
        const dup = await messages(
            input({ "migrations/01_a2.sql": "SELECT 1;\n" }, { headNames: ["0001_a.sql"], indexNames: ["0001_a.sql", "01_a2.sql"] }),
        );
        assert.deepEqual(dup, ["error migrations/01_a2.sql: version 1 is also used by migrations/0001_a.sql"]);
        const changes = [
            { status: "M", path: "migrations/0001_a.sql" },
            { status: "R", path: "migrations/0005_e.sql", from: "migrations/0002_b.sql" },
            { status: "D", path: "migrations/0003_c.sql" },
        ];
        const warned = await checkStagedMigrations({
            dir: "migrations",
            changes,
            indexNames: ["0001_a.sql", "0005_e.sql"],
            headNames: ["0001_a.sql", "0002_b.sql", "0003_c.sql"],
            stacks: [],
            read: () => Buffer.from("SELECT 1;\n"),
        });
        assert.deepEqual(
            warned.map((f) => `${f.level} ${f.message.split(";")[0]}`),
            [
                "warning migrations/0001_a.sql: a committed migration is edited",
                "warning migrations/0002_b.sql is renamed to migrations/0005_e.sql",
                "warning migrations/0003_c.sql: a committed migration is deleted",
            ],
        );
    });
});

describe("pre-commit: masking rules against the staged migrations", () => {
    const check = (files: Record<string, string>) =>
        checkStagedMasking({
            dir: "migrations",
            rulesFile: "db/masking.yaml",
            // Listed out of order: the files replay in version order.
            indexNames: Object.keys(files)
                .filter((p) => p.startsWith("migrations/"))
                .map((p) => p.slice("migrations/".length))
                .reverse(),
            read: (p) => Buffer.from(files[p]),
        });
    const base = {
        "migrations/0001_a.sql": "CREATE TABLE a (id int);\n",
        "migrations/0002_b.sql": "-- b\nALTER TABLE a ADD COLUMN phone text;\n",
    };

    it("refuses each unclassified column (file:line, the line to add) and each stale rule (its line)", async () => {
        const found = await check({ ...base, "db/masking.yaml": "a:\n  id: keep\n  fax: phone\n" });
        assert.deepEqual(
            found.map((f) => `${f.level} ${f.message}`),
            [
                "error migrations/0002_b.sql:2: column a.phone (text) has no masking rule in db/masking.yaml",
                "error db/masking.yaml:3: the masking rule for column a.fax is stale: no migration in migrations/ leaves it (dropped or renamed)",
            ],
        );
        assert.match(found[0].fix!, /add under 'a:' the line 'phone: phone/);
    });

    it("passes complete rules; refuses rules that do not validate; leaves a broken migration to the migration check", async () => {
        assert.deepEqual(await check({ ...base, "db/masking.yaml": "a:\n  id: keep\n  phone: phone\n" }), []);
        const invalid = await check({ ...base, "db/masking.yaml": "a:\n  id: keep\n  phone: phonee\n" });
        assert.equal(invalid.length, 1);
        assert.match(invalid[0].message, /^The masking rules have 1 problem/);
        assert.deepEqual(await check({ ...base, "migrations/0003_c.sql": "SELEC 1;\n", "db/masking.yaml": "a:\n  id: keep\n" }), []);
    });
});

describe("pre-commit: the report", () => {
    it("says no problems, or lists each with its fix and the --no-verify bypass", () => {
        assert.deepEqual(formatHookReport([], 3), ["pre-commit: 3 staged files checked, no problems"]);
        const report = formatHookReport(
            [
                { level: "warning", message: "m/1.sql: edited", fix: "new file" },
                { level: "error", message: "a.ts:2: debug leftover 'console.log('", fix: "remove it" },
            ],
            2,
        );
        assert.deepEqual(report, [
            "pre-commit: 1 problem in the staged changes; nothing was committed:",
            "✗ a.ts:2: debug leftover 'console.log('",
            "    fix: remove it",
            "! m/1.sql: edited",
            "    fix: new file",
            "Fix the files and stage them again (git add), then commit. To commit anyway, once and on purpose: git commit --no-verify",
        ]);
        assert.match(formatHookReport([{ level: "warning", message: "w" }], 1)[0], /1 warning .*committing anyway/);
    });
});
