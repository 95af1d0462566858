/**
 * npm run db:reset against the fake Neon API: the stack's branch gets its
 * parent's data through a sanitized temporary branch, the previous state is
 * kept, operations are awaited, and a failed sanitization changes nothing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { NeonDatabaseConfig, parseKeelConfig } from "../../components/config";
import { neonClient, waitForOperations } from "../../components/vendors/neon";
import { dbReset, describePlan, executeReset, planReset, ResetError, runSqlInTransaction } from "../../scripts/dbReset";
import { parseVerb } from "../support/keel";
import { FakeNeon } from "../support/fakeNeon";
import { withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";
import { tempDir } from "../support/tempDir";

function neonConfig(stack: string, extra: Record<string, unknown> = {}): NeonDatabaseConfig {
    const c = parseKeelConfig({
        project: "keel",
        stack,
        values: { "keel:database": JSON.stringify({ kind: "neon", neon: { project: { name: "shop" }, ...extra } }) },
        secretKeys: new Set(),
        env: { NEON_API_KEY: "napi_test" },
    });
    assert.equal(c.database.kind, "neon");
    return c.database as NeonDatabaseConfig;
}

describe("db:reset (fake Neon API)", function () {
    let fake: FakeNeon;
    let root: string;

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0 });
        root = tempDir("keel-reset-");
        fs.mkdirSync(path.join(root, "db"));
        fs.writeFileSync(
            path.join(root, "db", "sanitize.sql"),
            "UPDATE accounts SET email = 'user' || id || '@example.invalid';\nDELETE FROM tokens;\n",
        );
    });
    after(() => fake.stop());

    async function setup() {
        fake.reset();
        const project = fake.seedProject("shop", { branchName: "main", roleName: "app", databaseName: "app" });
        const api = neonClient({ apiKey: fake.apiKey, baseUrl: fake.url });
        const main = fake.branch(project.id, "main")!;
        const { data } = await api.createProjectBranch(project.id, {
            branch: { parent_id: main.id, name: "staging" },
            endpoints: [{ type: "read_write" as never }],
        });
        await waitForOperations(api, project.id, data.operations);
        fake.requests.splice(0);
        return { api, project, main, staging: fake.branch(project.id, "staging")! };
    }

    /** A real database standing in for the scratch branch's, seeded with prod-like rows. */
    async function scratchDatabase(): Promise<string> {
        const url = await freshDatabase("reset");
        await withClient(url, (c) =>
            c.query(`CREATE TABLE accounts (id int PRIMARY KEY, email text); INSERT INTO accounts VALUES (1, 'ann@real.com'), (2, 'bob@real.com');
                     CREATE TABLE tokens (token text); INSERT INTO tokens VALUES ('secret-token');`),
        );
        return url;
    }

    it("plans from names and says what it will do", async () => {
        const { api, project, main, staging } = await setup();
        const plan = await planReset(
            api,
            "staging",
            neonConfig("staging", { sanitizeSql: "db/sanitize.sql" }),
            root,
            new Date("2026-11-21T10:00:00Z"),
        );
        assert.equal(plan.projectId, project.id);
        assert.deepEqual(plan.target, { id: staging.id, name: "staging" });
        assert.deepEqual(plan.parent, { id: main.id, name: "main" });
        assert.equal(plan.scratchName, "keel-reset-staging-20261121-100000");
        assert.equal(plan.preservedName, "staging-before-reset-20261121-100000");
        const steps = describePlan(plan).join("\n");
        assert.match(steps, /1\. create the temporary branch 'keel-reset-staging-20261121-100000' from 'main'/);
        assert.match(steps, /2\. run db\/sanitize\.sql on it, in one transaction/);
        assert.match(steps, /3\. restore 'staging' .* kept as 'staging-before-reset-20261121-100000'/);
        assert.deepEqual(fake.mutations(), [], "planning changes nothing");
    });

    it("sanitizes a temporary branch, restores the stack's branch from it, keeps the old state, and cleans up", async () => {
        const { api, project, staging } = await setup();
        const plan = await planReset(api, "staging", neonConfig("staging", { sanitizeSql: "db/sanitize.sql" }), root);
        const db = await scratchDatabase();
        const sanitizedOn: string[] = [];
        const log: string[] = [];
        await executeReset(api, plan, {
            runSql: async (uri, sql) => {
                sanitizedOn.push(uri);
                // At this moment the target has not been touched yet.
                assert.equal(fake.mutations(/restore/).length, 0);
                await withClient(db, (c) => c.query(`BEGIN; ${sql} COMMIT;`));
            },
            log: (l) => log.push(l),
        });

        // Sanitized where nothing else connects: the scratch branch's endpoint.
        assert.equal(sanitizedOn.length, 1);
        const scratchHost = new URL(sanitizedOn[0]).hostname;
        assert.ok(!scratchHost.includes("-pooler"), "a direct connection");
        const rows = await withClient(db, async (c) => (await c.query("SELECT email FROM accounts ORDER BY id")).rows);
        assert.deepEqual(
            rows.map((r) => r.email),
            ["user1@example.invalid", "user2@example.invalid"],
        );

        // The calls, in order: create scratch, restore target from scratch (preserving), delete scratch.
        const calls = fake.mutations().map((r) => `${r.method} ${r.path.replace(project.id, "P").replace(staging.id, "STAGING")}`);
        assert.equal(calls.length, 3, calls.join("\n"));
        assert.match(calls[0], /^POST \/projects\/P\/branches$/);
        assert.equal(calls[1], "POST /projects/P/branches/STAGING/restore");
        assert.match(calls[2], /^DELETE \/projects\/P\/branches\/br-/);
        const restore = fake.requests.find((r) => r.path.endsWith("/restore"))!;
        const scratch = fake.state.branches.find((b) => b.name === plan.scratchName);
        assert.equal(scratch, undefined, "the temporary branch is gone");
        assert.ok(restore);
        // Every operation was awaited: nothing was left running, and polls happened.
        assert.deepEqual(fake.runningOperations(), []);
        assert.ok(
            fake.requests.some((r) => r.method === "GET" && /\/operations\//.test(r.path)),
            "operations were polled",
        );
        // The previous state is kept under its own name; the branch itself stays put.
        assert.ok(fake.branch(project.id, plan.preservedName), "previous state preserved");
        assert.equal(fake.branch(project.id, "staging")!.id, staging.id);
        assert.ok(fake.branch(project.id, "staging")!.last_reset_at);
        assert.ok(log.some((l) => l.includes("restoring 'staging'")));
    });

    it("changes nothing on the stack's branch when the sanitization fails, and removes the temporary branch", async () => {
        const { api, project } = await setup();
        const plan = await planReset(api, "staging", neonConfig("staging", { sanitizeSql: "db/sanitize.sql" }), root);
        await assert.rejects(
            executeReset(api, plan, {
                runSql: async () => Promise.reject(new Error('relation "tokens" does not exist')),
                log: () => undefined,
            }),
            /relation "tokens" does not exist/,
        );
        assert.equal(fake.mutations(/restore/).length, 0, "no restore");
        assert.equal(fake.branch(project.id, plan.scratchName!), undefined, "temporary branch removed");
        assert.equal(fake.branch(project.id, plan.preservedName), undefined);
    });

    it("retries a locked restore and waits for it", async () => {
        const { api, project, staging } = await setup();
        const plan = await planReset(api, "staging", neonConfig("staging"), root);
        fake.inject({ method: "POST", path: /\/restore$/, status: 423, times: 2 });
        await executeReset(api, plan, { runSql: async () => assert.fail("no sanitization configured"), log: () => undefined });
        assert.equal(fake.requests.filter((r) => r.path.endsWith("/restore")).length, 3);
        assert.ok(fake.branch(project.id, "staging")!.last_reset_at);
        assert.equal(fake.branch(project.id, "staging")!.id, staging.id);
    });

    it("refuses to reset the owner stack's default branch", async () => {
        const { api } = await setup();
        await assert.rejects(
            planReset(api, "prod", neonConfig("prod"), root),
            (err: Error) => err instanceof ResetError && /owns the Neon project/.test(err.message),
        );
    });

    it("says which stack to deploy first when the branch does not exist", async () => {
        const { api } = await setup();
        await assert.rejects(
            planReset(api, "staging", neonConfig("staging", { branch: { name: "qa" } }), root),
            /no branch 'qa': run 'npm run up -- staging' first/,
        );
    });

    describe("the command", () => {
        const STAGING = `config:
  keel:database:
    kind: neon
    neon:
      project:
        name: shop
      branch:
        name: staging
        parent: main
`;
        function project(stackFiles: Record<string, string>): string {
            const dir = tempDir("keel-reset-cmd-");
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
            for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
            return dir;
        }
        const run = (dir: string, argv: string[], env: Record<string, string | undefined>) =>
            parseVerb(["db", "reset"], argv)
                .then(({ options }) =>
                    dbReset(
                        { stack: options.stack, yes: options.yes === true },
                        { root: dir, env, out: () => undefined, confirm: async () => false },
                    ),
                )
                .catch((e: Error) => e);

        it("with keel:neonApiKey encrypted in the stack file, says the script cannot read it and to export NEON_API_KEY", async () => {
            await setup();
            const dir = project({ staging: STAGING.replace("config:\n", "config:\n  keel:neonApiKey:\n    secure: v1:AAAA\n") });
            const err = await run(dir, ["--stack", "staging"], { NEON_API_URL: fake.url });
            assert.match(
                String((err as Error).message),
                /^Stack 'staging' is on Neon and this command needs a Neon API key: export NEON_API_KEY=\.\.\. \(a keel:neonApiKey in the stack file is encrypted, which this script cannot read\)\.$/,
            );
            assert.deepEqual(fake.mutations(), []);
            // With neither, the command says what it needs (reading the stack's settings needs no key; the Neon API does).
            const neither = await run(project({ staging: STAGING }), ["--stack", "staging"], {});
            assert.match(
                String((neither as Error).message),
                /^Stack 'staging' is on Neon and this command needs a Neon API key: export NEON_API_KEY=\.\.\./,
            );
        });

        it("without --yes and a terminal, prints the plan and changes nothing (exit 1); on a dev stack it names dev:reset", async () => {
            await setup();
            const dir = project({ staging: STAGING, dev: "config: {}\n" });
            const lines: string[] = [];
            const code = await dbReset(
                { stack: "staging" },
                {
                    root: dir,
                    env: { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url },
                    out: (l) => void lines.push(l),
                    confirm: async () => false,
                },
            );
            assert.equal(code, 1);
            assert.match(lines.join("\n"), /^db:reset on stack 'staging' \(Neon project \S+\) will:\n {2}1\. restore 'staging'/);
            assert.equal(lines[lines.length - 1], "Nothing was changed. (Pass --yes to skip this question in scripts.)");
            assert.deepEqual(fake.mutations(), []);
            const dev = await run(dir, ["--stack", "dev"], {});
            assert.match(
                String((dev as Error).message),
                /uses a local database; db:reset works on Neon branches\. .*npm run dev:reset -- --stack dev/,
            );
        });

        it("a failing sanitization statement is named by file and line, and rolled back", async () => {
            const db = await scratchDatabase();
            const err = await runSqlInTransaction(
                db,
                "UPDATE accounts SET email = 'masked';\n\nDELETE FROM no_such_table;\n",
                "db/sanitize.sql",
            ).catch((e: Error) => e);
            assert.match(
                String((err as Error).message),
                /^db\/sanitize\.sql:3: relation "no_such_table" does not exist \[SQLSTATE 42P01\]\./,
            );
            const rows = await withClient(db, async (c) => (await c.query("SELECT email FROM accounts ORDER BY id")).rows);
            assert.deepEqual(
                rows.map((r) => r.email),
                ["ann@real.com", "bob@real.com"],
            );
        });
    });
});
