/**
 * preflight: the pure checks (components/preflight.ts) with crafted inputs, a
 * compliant baseline and one change per test; then `scripts/preflight.ts` as a
 * process in a temporary project (stack files, migrations, a git work tree),
 * once passing and once failing with every problem in the one run.
 */
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { BackendConfig } from "../../components/config";
import {
    allowedBranches,
    checkBackups,
    checkConfig,
    checkDatabase,
    checkGit,
    checkMasking,
    checkMigrationFiles,
    checkProdBackend,
    DatabaseInput,
    formatReport,
    GitInput,
    maskSecrets,
    MigrationFilesInput,
    preflightReport,
} from "../../components/preflight/index";
import { maskingCoverage } from "../../components/masking";
import { loadMigrations } from "../../components/schema/migrationSet";
import { HistoryRow } from "../../components/schema/plan";
import { applyMigrations } from "../../components/schema/runner";
import { CliResult, cliResult, engineSettings, REPO_ROOT } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import { tempDir } from "../support/tempDir";

const errors = (r: { findings: { level: string; message: string }[] }) =>
    r.findings.filter((f) => f.level === "error").map((f) => f.message);

describe("preflight checks (pure)", () => {
    it("config: a valid config passes; a ConfigError's problems are listed whole with their fixes", () => {
        assert.equal(checkConfig("prod", { ok: true }).status, "pass");
        const r = checkConfig("prod", {
            ok: false,
            problems: [
                { key: "keel:flyApiToken", message: "is not set and FLY_API_TOKEN is not in the environment", fix: "export FLY_API_TOKEN" },
                { key: "keel:vercelApiToken", message: "is not set", fix: "export VERCEL_API_TOKEN" },
            ],
        });
        assert.equal(r.status, "fail");
        assert.deepEqual(errors(r), [
            "keel:flyApiToken: is not set and FLY_API_TOKEN is not in the environment",
            "keel:vercelApiToken: is not set",
        ]);
        assert.deepEqual(
            r.findings.map((f) => f.fix),
            ["export FLY_API_TOKEN", "export VERCEL_API_TOKEN"],
        );
        assert.equal(checkConfig("qa", { ok: false, error: "Pulumi.qa.yaml does not exist" }).status, "fail");
    });

    describe("migration files", () => {
        const baseline = (): MigrationFilesInput => ({
            stage: "prod",
            dir: "migrations",
            problems: [],
            files: [
                { version: "1", file: "0001_a.sql", path: "migrations/0001_a.sql", allowDestructive: false, destructive: [] },
                {
                    version: "2",
                    file: "0002_b.sql",
                    path: "migrations/0002_b.sql",
                    allowDestructive: true,
                    destructive: [{ line: 3, what: "DROP TABLE public.old" }],
                },
            ],
        });
        const dropping = {
            version: "3",
            file: "0003_drop.sql",
            path: "migrations/0003_drop.sql",
            allowDestructive: false,
            destructive: [{ line: 4, what: "DROP COLUMN public.users.email" }],
        };

        it("passes when every file parses and destructive ones carry the directive", () => {
            assert.equal(checkMigrationFiles(baseline()).status, "pass");
        });

        it("on prod and staging, a destructive file without the directive is ✗ naming file, line and directive", () => {
            for (const stage of ["prod", "staging"] as const) {
                const r = checkMigrationFiles({ ...baseline(), stage, files: [...baseline().files, dropping] });
                assert.equal(r.status, "fail");
                assert.match(
                    errors(r)[0],
                    /^migrations\/0003_drop\.sql:4: DROP COLUMN public\.users\.email: destructive, and the file lacks '-- keel:allow-destructive'$/,
                );
                assert.match(
                    r.findings.find((f) => f.level === "error")!.fix!,
                    /add the line '-- keel:allow-destructive' at the top of migrations\/0003_drop\.sql/,
                );
            }
        });

        it("a pending file that uses an enum value it adds in the same transaction is a warning, on every stage", () => {
            const enumUse = {
                ...baseline().files[0],
                version: "4",
                file: "0004_e.sql",
                path: "migrations/0004_e.sql",
                warnings: [{ line: 2, what: "uses 'x', added by ALTER TYPE t ADD VALUE at line 1 in the same transaction" }],
            };
            for (const stage of ["prod", "dev"] as const) {
                const r = checkMigrationFiles({ ...baseline(), stage, files: [...baseline().files, enumUse] });
                assert.equal(r.status, "warn");
                assert.deepEqual(
                    r.findings.filter((f) => f.level === "warning").map((f) => f.message),
                    ["migrations/0004_e.sql:2: uses 'x', added by ALTER TYPE t ADD VALUE at line 1 in the same transaction"],
                );
            }
            assert.equal(
                checkMigrationFiles({ ...baseline(), files: [...baseline().files, enumUse], applied: new Set(["4"]) }).status,
                "pass",
            );
        });

        it("on dev the same file is a warning", () => {
            const r = checkMigrationFiles({ ...baseline(), stage: "dev", files: [...baseline().files, dropping] });
            assert.equal(r.status, "warn");
            assert.deepEqual(errors(r), []);
        });

        it("an already-applied destructive file is a note, not ✗ (adding the directive would change its checksum)", () => {
            const r = checkMigrationFiles({ ...baseline(), files: [...baseline().files, dropping], applied: new Set(["1", "2", "3"]) });
            assert.equal(r.status, "pass");
            assert.match(r.findings.find((f) => f.level === "info")!.message, /0003_drop\.sql:4.*already applied/);
        });

        it("every load or syntax problem is its own ✗", () => {
            const r = checkMigrationFiles({
                ...baseline(),
                problems: [
                    'migrations/0004_x.sql:2:8: SQL syntax error: syntax error at or near "TABEL"',
                    "migrations/notes.txt: name must be <version>_<name>.sql",
                ],
            });
            assert.equal(errors(r).length, 2);
            assert.match(errors(r)[0], /0004_x\.sql:2:8: SQL syntax error/);
        });
    });

    describe("migration history", () => {
        const files = [
            { version: "1", name: "a", file: "0001_a.sql", checksum: "c1" },
            { version: "2", name: "b", file: "0002_b.sql", checksum: "c2" },
        ];
        const row = (version: string, checksum: string, status: HistoryRow["status"] = "applied"): HistoryRow => ({
            version,
            name: version === "1" ? "a" : "b",
            checksum,
            status,
        });
        const baseline = (): DatabaseInput & { kind: "read" } => ({
            kind: "read",
            stack: "prod",
            target: "db.example.com:5432/app",
            files,
            history: [row("1", "c1")],
            options: { allowMissing: false, outOfOrder: false },
        });

        it("reports the pending versions and passes", () => {
            const r = checkDatabase(baseline());
            assert.equal(r.status, "pass");
            assert.match(r.findings[0].message, /schema version 1, 1 applied, pending: 2$/);
        });

        it("an edited migration is ✗", () => {
            const r = checkDatabase({ ...baseline(), history: [row("1", "other")] });
            assert.match(errors(r)[0], /0001_a\.sql was edited after it was applied/);
            assert.match(r.findings[0].fix!, /new migration/);
        });

        it("a deleted migration is ✗ (unless allowMissing)", () => {
            const input = { ...baseline(), files: files.slice(1), history: [row("1", "c1")] };
            assert.match(errors(checkDatabase(input))[0], /version 1 \(a\) is applied in the database but its file is missing/);
            assert.equal(checkDatabase({ ...input, options: { allowMissing: true, outOfOrder: false } }).status, "pass");
        });

        it("a failed migration is ✗ with the schema:resolve fix", () => {
            const r = checkDatabase({ ...baseline(), history: [row("1", "c1"), row("2", "c2", "failed")] });
            assert.match(errors(r)[0], /version 2 \(b\) is recorded as failed/);
            assert.match(r.findings[0].fix!, /npm run schema:resolve -- 2 --applied/);
        });

        it("skipped (offline, neon) is a note; unreachable is ✗", () => {
            assert.equal(checkDatabase({ kind: "skipped", reason: "--offline" }).status, "skip");
            const r = checkDatabase({ kind: "unreachable", target: "db:5432/app", error: "ECONNREFUSED" });
            assert.equal(r.status, "fail");
            assert.match(r.findings[0].fix!, /--offline/);
        });
    });

    describe("git", () => {
        const baseline = (): GitInput => ({
            porcelain: "",
            branch: "main",
            branchSource: "GITHUB_REF_NAME",
            allowed: [{ branch: "main", key: "keel:frontend.git.productionBranch" }],
            stack: "prod",
        });

        it("passes on a clean tree on the allowed branch", () => {
            assert.equal(checkGit(baseline()).status, "pass");
        });

        it("a dirty working tree is ✗ listing the changes", () => {
            const r = checkGit({ ...baseline(), porcelain: " M index.ts\n?? scratch.sql\n" });
            assert.match(errors(r)[0], /not clean \(2 changes\): M index\.ts, \?\? scratch\.sql/);
        });

        it("another branch (from --branch or GITHUB_REF_NAME) is ✗ naming the key", () => {
            for (const branchSource of ["--branch", "GITHUB_REF_NAME"] as const) {
                const r = checkGit({ ...baseline(), branch: "feature/x", branchSource });
                assert.match(
                    errors(r)[0],
                    /branch feature\/x .* may not deploy stack 'prod': keel:frontend\.git\.productionBranch is main/,
                );
            }
        });

        it("the local branch is only reported, and so is any branch when no config names one", () => {
            assert.equal(checkGit({ ...baseline(), branch: "feature/x", branchSource: "git" }).status, "pass");
            const r = checkGit({ ...baseline(), branch: "feature/x", allowed: [] });
            assert.equal(r.status, "pass");
            assert.match(r.findings[1].message, /no config names the branch/);
        });

        it("not a git work tree is ✗", () => {
            assert.equal(checkGit({ ...baseline(), porcelain: undefined, gitError: "fatal: not a git repository" }).status, "fail");
        });

        it("allowedBranches reads the Vercel production branch and Render's repo branch", () => {
            const render = {
                kind: "render",
                render: { repo: { url: "https://github.com/o/r", branch: "release" } },
            } as unknown as BackendConfig;
            assert.deepEqual(allowedBranches({ frontend: { git: { repo: "o/r", productionBranch: "main" } } as any, backend: render }), [
                { branch: "main", key: "keel:frontend.git.productionBranch" },
                { branch: "release", key: "keel:backend.render.repo.branch" },
            ]);
            assert.deepEqual(allowedBranches({}), []);
            // keel:github.branches.<stack>, when the config has it.
            assert.deepEqual(
                allowedBranches({ stack: "staging", github: { deploy: { branch: "staging", environment: "staging" } } } as any),
                [{ branch: "staging", key: "keel:github.branches.staging" }],
            );
        });
    });

    it("backups: off on staging or prod is ✗ with the pulumi config command; off on dev is fine", () => {
        assert.equal(checkBackups("prod", "prod", true).status, "pass");
        for (const stage of ["staging", "prod"] as const) {
            const r = checkBackups(stage, stage, false);
            assert.equal(r.status, "fail");
            assert.equal(r.findings[0].fix, `npm run pulumi -- config set --path keel:migrations.backup true --stack ${stage}`);
        }
        assert.equal(checkBackups("dev", "dev", false).status, "pass");
    });

    describe("prod backend", () => {
        const fly = (regions: { region: string; count: number }[], strategy = "rolling") =>
            ({ kind: "fly", fly: { regions, strategy } }) as unknown as BackendConfig;
        const render = (instances: number) => ({ kind: "render", render: { instances } }) as unknown as BackendConfig;

        it("passes with two Fly machines rolling, or two Render instances, or no backend", () => {
            assert.equal(checkProdBackend("prod", "prod", fly([{ region: "iad", count: 2 }])).status, "pass");
            assert.equal(
                checkProdBackend(
                    "prod",
                    "prod",
                    fly(
                        [
                            { region: "iad", count: 1 },
                            { region: "ams", count: 1 },
                        ],
                        "bluegreen",
                    ),
                ).status,
                "pass",
            );
            assert.equal(checkProdBackend("prod", "prod", render(2)).status, "pass");
            assert.equal(checkProdBackend("prod", "prod", undefined).status, "pass");
        });

        it("one Fly machine is ✗", () => {
            assert.match(errors(checkProdBackend("prod", "prod", fly([{ region: "iad", count: 1 }])))[0], /runs 1 machine/);
        });

        it("an immediate Fly rollout is ✗", () => {
            assert.match(
                errors(checkProdBackend("prod", "prod", fly([{ region: "iad", count: 2 }], "immediate")))[0],
                /strategy is immediate/,
            );
        });

        it("one Render instance is ✗", () => {
            const r = checkProdBackend("prod", "prod", render(1));
            assert.match(errors(r)[0], /instances is 1/);
            assert.equal(r.findings[0].fix, "npm run pulumi -- config set --path keel:backend.render.instances 2 --stack prod");
        });

        it("other stages are skipped", () => {
            assert.equal(checkProdBackend("staging", "staging", fly([{ region: "iad", count: 1 }])).status, "skip");
        });
    });

    describe("masking rules", () => {
        const found = {
            columns: [
                { table: "users", column: "id", type: "integer", source: { file: "migrations/0001_users.sql", line: 1 } },
                { table: "users", column: "phone", type: "text", source: { file: "migrations/0002_phone.sql", line: 2 } },
            ],
            unknown: [],
        };
        const check = (rules: string) =>
            checkMasking({ kind: "checked", coverage: maskingCoverage(found, rules, "db/masking.yaml"), migrations: "migrations/" });

        it("an unclassified column is ✗ naming the file:line that added it and the line to add", () => {
            const r = check("users:\n  id: keep\n");
            assert.equal(r.status, "fail");
            assert.deepEqual(errors(r), ["migrations/0002_phone.sql:2: column users.phone (text) has no masking rule in db/masking.yaml"]);
            assert.match(r.findings[0].fix!, /^in db\/masking\.yaml, add under 'users:' the line 'phone: phone/);
        });

        it("a stale rule is ✗ naming the rules file's line", () => {
            const r = check("users:\n  id: keep\n  phone: phone\n  fax: phone\n");
            assert.equal(r.status, "fail");
            assert.deepEqual(errors(r), [
                "db/masking.yaml:4: the masking rule for column users.fax is stale: no migration in migrations/ leaves it (dropped or renamed)",
            ]);
        });

        it("complete rules pass, naming how many columns are classified", () => {
            const r = check("users:\n  id: keep\n  phone: phone\n");
            assert.equal(r.status, "pass");
            assert.deepEqual(
                r.findings.map((f) => f.message),
                ["db/masking.yaml classifies all 2 columns of migrations/; no rule is stale"],
            );
        });

        it("without the rules file the check is skipped with a note naming keel db mask-init", () => {
            const r = checkMasking({ kind: "absent", rulesFile: "db/masking.yaml" });
            assert.equal(r.status, "skip");
            assert.equal(r.findings.length, 1);
            assert.match(r.findings[0].message, /^skipped: no db\/masking\.yaml.*'keel db mask-init'/);
        });
    });

    it("the report counts every ✗, prints the fix under it, and masks secrets", () => {
        const report = preflightReport("prod", [checkBackups("prod", "prod", false), checkProdBackend("prod", "prod", undefined)]);
        assert.equal(report.ok, false);
        assert.equal(report.problems, 1);
        const lines = formatReport(report);
        assert.ok(
            lines.includes("✗ backups: keel:migrations.backup is off on prod: pending migrations would run without a backup to go back to"),
        );
        assert.ok(lines.includes("    fix: npm run pulumi -- config set --path keel:migrations.backup true --stack prod"));
        assert.match(lines.at(-1)!, /preflight failed: 1 problem to fix/);
        assert.equal(
            maskSecrets("url postgres://app:s3cr3t-pw@db:5432/app token fo1_abcdef", ["fo1_abcdef", undefined]),
            "url postgres://app:****@db:5432/app token ****",
        );
    });
});

// ---------------------------------------------------------------------------------------------

/** A temporary project: Pulumi.yaml, stack files, migrations, all committed to a fresh git repository. */
function project(stackFiles: Record<string, string>, migrations: Record<string, string>): string {
    const root = tempDir("keel-preflight-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
    for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), text);
    fs.mkdirSync(path.join(root, "migrations"));
    for (const [name, text] of Object.entries(migrations)) fs.writeFileSync(path.join(root, "migrations", name), text);
    const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], {
            cwd: root,
            stdio: "pipe",
        });
    git("init", "-q");
    git("add", "-A");
    git("commit", "-q", "-m", "init");
    return root;
}

/** `keel preflight` (cli/main.ts) under ts-node, run from the project's root as `npm run preflight` does. */
function runPreflight(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
    const clean: NodeJS.ProcessEnv = { ...process.env };
    for (const k of [
        "DATABASE_URL",
        "NEON_API_KEY",
        "FLY_API_TOKEN",
        "RENDER_API_KEY",
        "VERCEL_API_TOKEN",
        "GITHUB_TOKEN",
        "GITHUB_REF_NAME",
        "GITHUB_ACTIONS",
    ])
        delete clean[k];
    const child = spawn(
        process.execPath,
        ["-r", require.resolve("ts-node/register/transpile-only"), path.join(REPO_ROOT, "cli", "main.ts"), "preflight", ...args],
        {
            cwd: root,
            env: { ...clean, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json"), ...env },
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    return cliResult(child);
}

const FIRST = "CREATE TABLE users (id int PRIMARY KEY, email text);\n";
const SECOND = "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\n";

describe("preflight CLI", function () {
    this.timeout(60000);
    let password: string;
    before(async () => {
        password = (await testCluster()).password;
    });

    it("passes on a compliant dev stack: exit 0, the pending version listed, no secret printed", async () => {
        const root = project(
            { dev: "config:\n  keel:migrations:\n    dir: migrations\n" },
            { "0001_users.sql": FIRST, "0002_posts.sql": SECOND },
        );
        const url = await freshDatabase();
        await applyMigrations(url, (await loadMigrations(path.join(root, "migrations"))).slice(0, 1), engineSettings());

        const res = await runPreflight(root, ["--url", url], { GITHUB_REF_NAME: "main" });
        assert.equal(res.code, 0, res.stdout + res.stderr);
        assert.match(res.stdout, /^✓ config: Pulumi\.dev\.yaml validates/m);
        assert.match(res.stdout, /^· migration history: .*schema version 1, 1 applied, pending: 2$/m);
        assert.match(res.stdout, /^✓ git: the working tree is clean$/m);
        assert.match(res.stdout, /^preflight passed/m);
        assert.doesNotMatch(res.stdout, /✗/);
        assert.ok(!res.stdout.includes(password) && !res.stderr.includes(password), "the database password is never printed");
    });

    it("fails on a non-compliant prod stack with every problem in one run, also as --json", async () => {
        const prod = `config:
  keel:databaseUrl:
    secure: v1:AAAA
  keel:migrations:
    dir: migrations
    backup: false
  keel:backend:
    kind: render
    image: registry.example.com/app:1.0.0
    render:
      ownerId: tea-abc123
      instances: 1
  keel:frontend:
    name: app-web
    git:
      repo: org/app
      productionBranch: main
`;
        const root = project(
            { prod },
            {
                "0001_users.sql": FIRST,
                "0002_posts.sql": SECOND,
                "0003_drop_email.sql": "-- the email column moves to accounts\nALTER TABLE users DROP COLUMN email;\n",
            },
        );
        const url = await freshDatabase();
        await applyMigrations(url, (await loadMigrations(path.join(root, "migrations"))).slice(0, 1), engineSettings());
        // Applied, then edited; a file with a syntax error; an uncommitted file.
        fs.appendFileSync(path.join(root, "migrations", "0001_users.sql"), "-- edited\n");
        fs.writeFileSync(path.join(root, "migrations", "0004_broken.sql"), "CREATE TABEL broken (id int);\n");
        fs.writeFileSync(path.join(root, "notes.txt"), "wip\n");
        const token = "vercel-token-1234567890";

        const res = await runPreflight(root, ["--stack", "prod", "--branch", "feature/x", "--url", url], { VERCEL_API_TOKEN: token });
        assert.equal(res.code, 1, res.stdout + res.stderr);
        const expected = [
            /^✗ config: keel:renderApiKey: is not set and RENDER_API_KEY is not in the environment/m,
            /^✗ migration files: migrations\/0003_drop_email\.sql:2: .*DROP.*email.*: destructive, and the file lacks '-- keel:allow-destructive'$/m,
            /^✗ migration files: migrations\/0004_broken\.sql:1:\d+: SQL syntax error/m,
            /^✗ migration history: 0001_users\.sql was edited after it was applied/m,
            /^✗ git: the working tree is not clean \(3 changes\): M migrations\/0001_users\.sql, \?\? migrations\/0004_broken\.sql, \?\? notes\.txt$/m,
            /^✗ git: branch feature\/x \(from --branch\) may not deploy stack 'prod': keel:frontend\.git\.productionBranch is main$/m,
            /^✗ backups: keel:migrations\.backup is off on prod/m,
            /^ {4}fix: npm run pulumi -- config set --path keel:migrations\.backup true --stack prod$/m,
            /^✗ prod backend: keel:backend\.render\.instances is 1/m,
        ];
        for (const re of expected) assert.match(res.stdout, re);
        assert.match(res.stdout, /^preflight failed: 8 problems to fix/m);
        for (const secret of [password, token])
            assert.ok(!res.stdout.includes(secret) && !res.stderr.includes(secret), "no secret is printed");

        const json = await runPreflight(root, ["--stack", "prod", "--json", "--offline", "--url", url], { VERCEL_API_TOKEN: token });
        assert.equal(json.code, 1, json.stderr);
        const report = JSON.parse(json.stdout);
        assert.equal(report.ok, false);
        assert.deepEqual(
            report.checks.map((c: any) => [c.id, c.status]),
            [
                ["config", "fail"],
                ["migrations", "fail"],
                ["database", "skip"],
                ["git", "fail"],
                ["backups", "fail"],
                ["backend", "fail"],
                ["masking", "skip"],
            ],
        );
        assert.equal(report.problems, 6);
        assert.ok(!json.stdout.includes(password) && !json.stdout.includes(token));
    });

    it("with db/masking.yaml, a new column without a rule fails naming the migration's line and the rule to add", async () => {
        const root = project(
            { dev: "config:\n  keel:migrations:\n    dir: migrations\n" },
            { "0001_users.sql": FIRST, "0002_phone.sql": "-- phones\nALTER TABLE users ADD COLUMN phone text;\n" },
        );
        fs.mkdirSync(path.join(root, "db"));
        fs.writeFileSync(path.join(root, "db", "masking.yaml"), "users:\n  id: keep\n  email: email\n  fax: phone\n");
        const res = await runPreflight(root, ["--offline"], { GITHUB_REF_NAME: "main" });
        assert.equal(res.code, 1, res.stdout + res.stderr);
        assert.match(
            res.stdout,
            /^✗ masking rules: migrations\/0002_phone\.sql:2: column users\.phone \(text\) has no masking rule in db\/masking\.yaml$/m,
        );
        assert.match(res.stdout, /^ {4}fix: in db\/masking\.yaml, add under 'users:' the line 'phone: phone/m);
        assert.match(res.stdout, /^✗ masking rules: db\/masking\.yaml:4: the masking rule for column users\.fax is stale/m);

        fs.writeFileSync(path.join(root, "db", "masking.yaml"), "users:\n  id: keep\n  email: email\n  phone: phone\n");
        const ok = await runPreflight(root, ["--offline"], { GITHUB_REF_NAME: "main" });
        assert.match(ok.stdout, /^✓ masking rules: db\/masking\.yaml classifies all 3 columns of migrations\/; no rule is stale$/m);

        fs.rmSync(path.join(root, "db"), { recursive: true });
        const none = await runPreflight(root, ["--offline"], { GITHUB_REF_NAME: "main" });
        assert.equal(none.code, 0, none.stdout + none.stderr);
        assert.match(none.stdout, /^· masking rules: skipped: no db\/masking\.yaml.*keel db mask-init/m);
    });

    it("without --stack checks dev; a stack never deployed skips the history check, saying so, and creates no state", async () => {
        const root = project({ dev: "config:\n  keel:migrations:\n    dir: migrations\n" }, { "0001_users.sql": FIRST });
        const res = await runPreflight(root, [], { GITHUB_REF_NAME: "main" });
        assert.match(res.stdout, /^Preflight for stack 'dev':$/m);
        assert.match(
            res.stdout,
            /^· migration history: skipped: The dev stack does not exist yet in file:\/\/\S+: run 'npm run up -- dev' first/m,
        );
        assert.match(res.stdout, /^✓ git: the working tree is clean$/m);
        assert.equal(res.code, 0, res.stdout);
        const usage = await runPreflight(REPO_ROOT, ["--stack"], {});
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /error: option '-s, --stack <stack>' argument missing\n\nUsage: keel preflight \[options\]/);
    });
});
