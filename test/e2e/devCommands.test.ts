/**
 * End to end through the real engine: the dev stack on an existing PostgreSQL
 * (keel:databaseUrl, as test/e2e/dev.test.ts sets it up), and the commands
 * that read its database URL from the stack output as processes, with no
 * passphrase and no DATABASE_URL exported: npm run db:url (before the first
 * up, and after it), npm run dev:reset (from the stack's own URL) and
 * npm run dev:seed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);
const emails = async (url: string) => (await query(url, "SELECT email FROM accounts ORDER BY id")).map((r) => r.email);

describe("end to end: db:url, dev:reset and dev:seed on the dev stack through the engine", function () {
    this.timeout(10 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;

    before(async function () {
        cli = requireEngine(this);
        url = await freshDatabase("e2e_devcmd");
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
    });

    /** `keel <args>` in the workspace as npm runs it: no passphrase, no DATABASE_URL, no terminal. */
    const run = (args: string[], extra: Record<string, string> = {}) => ws.runKeel(args, extra);

    it("db:url before the first up: says to run npm run up first, prints nothing on stdout, creates no stack", () => {
        const res = run(["db", "url"]);
        assert.equal(res.status, 1, res.stderr);
        assert.equal(res.stdout, "");
        assert.match(
            res.stderr,
            /^error: The dev stack does not exist yet in file:\/\/.*: run 'npm run up -- dev' first: it creates the database and records its URL\.\n$/,
        );
        assert.equal(fs.existsSync(path.join(ws.state, ".pulumi", "stacks", "keel", "dev.json")), false);
    });

    it("db:url after up: the stack's direct URL and nothing else on stdout, without a passphrase", async () => {
        // An existing server: the dev stack file's kind (local) switched to external, as a user would.
        ws.editStackFile("dev", (c) => (c["keel:database"] = { kind: "external" }));
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
        await stack.up({ onOutput: () => undefined });
        const res = run(["db", "url"]);
        assert.equal(res.status, 0, res.stderr);
        assert.equal(res.stdout, `${url}\n`);
        assert.ok(!res.stderr.includes((await testCluster()).password));
        const named = run(["db", "url", "--stack", "dev"]);
        assert.equal(named.stdout, `${url}\n`);
    });

    it("dev:reset --yes rebuilds the database the stack output names, even with DATABASE_URL pointing elsewhere", async () => {
        await query(url, "INSERT INTO accounts (email) VALUES ('mine@example.com'); CREATE TABLE scratch (x int)");
        const elsewhere = await freshDatabase("e2e_elsewhere");
        const res = run(["dev", "reset", "--yes"], { DATABASE_URL: elsewhere });
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(
            res.stdout,
            /^note: DATABASE_URL names 127\.0\.0\.1:\d+\/e2e_elsewhere_\S+; this command uses the dev stack's database/m,
        );
        assert.match(res.stdout, /^dev:reset on stack 'dev' \(127\.0\.0\.1:\d+\/e2e_devcmd_\S+\) will:$/m);
        assert.deepEqual(await emails(url), ["ada@example.com", "grace@example.com", "linus@example.com"]);
        assert.deepEqual(await query(url, "SELECT to_regclass('public.scratch') AS t"), [{ t: null }]);
        assert.deepEqual(
            (await query(url, "SELECT version::text FROM keel_schema_history ORDER BY 1")).map((r) => r.version),
            ["1", "2"],
        );
        assert.deepEqual(await query(elsewhere, "SELECT count(*)::int AS n FROM pg_class WHERE relname = 'accounts'"), [{ n: 0 }]);
        // The stack agrees with the rebuilt database: nothing to do.
        const preview = await stack.preview({ onOutput: () => undefined });
        assert.equal(preview.changeSummary.update ?? 0, 0);
    });

    it("dev:reset without --yes and without a terminal refuses and changes nothing; dev:seed seeds again", async () => {
        await query(url, "INSERT INTO accounts (email) VALUES ('kept@example.com')");
        const res = run(["dev", "reset"]);
        assert.equal(res.status, 1, res.stderr);
        assert.match(res.stdout, /Nothing was changed\. \(Pass --yes to skip this question in scripts\.\)\n$/);
        assert.ok((await emails(url)).includes("kept@example.com"));

        await query(url, "DELETE FROM accounts WHERE email = 'grace@example.com'");
        const seed = run(["dev", "seed"]);
        assert.equal(seed.status, 0, seed.stderr);
        assert.match(seed.stdout, /^1 seed applied to 127\.0\.0\.1:\d+\//m);
        assert.deepEqual((await emails(url)).sort(), ["ada@example.com", "grace@example.com", "kept@example.com", "linus@example.com"]);
    });
});
