/**
 * End to end through the real engine: every command that connects finds the
 * stack's own database by the one rule (scripts/lib/stackDatabase.ts) — dev
 * unless --stack, the stack output databaseUrl, --url when given, never an
 * exported DATABASE_URL naming another database — run as processes the way
 * npm runs them, with no passphrase and no --stack.
 */
import { strict as assert } from "assert";
import type { Stack } from "@pulumi/pulumi/automation";
import { describeTarget } from "../../components/postgres/connection";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase, testCluster } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("end to end: every command uses the dev stack's own database (its output), --url wins, DATABASE_URL does not", function () {
    this.timeout(10 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;
    let elsewhere: string;
    let password: string;

    before(async function () {
        cli = requireEngine(this);
        password = (await testCluster()).password;
        url = await freshDatabase("e2e_rule");
        elsewhere = await freshDatabase("e2e_rule_other");
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // An existing server with its URL a secret of the stack: the URL is in the state, as a local database's is.
        ws.editStackFile("dev", (c) => (c["keel:database"] = { kind: "external" }));
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
        await stack.up({ onOutput: () => undefined });
    });

    /** `keel <args>` in the workspace as npm runs it: no passphrase, DATABASE_URL naming another database, no terminal. */
    const run = (args: string[], extra: Record<string, string> = {}) => {
        const res = ws.runKeel(args, { DATABASE_URL: elsewhere, ...extra });
        // db url prints the URL, password and all: that is what it is for.
        if (args.join(" ") !== "db url")
            assert.ok(!`${res.stdout}${res.stderr}`.includes(password), `keel ${args.join(" ")} printed the password`);
        return res;
    };
    const target = () => esc(describeTarget(url));

    it("schema:status, schema:apply and schema:resolve: the stack's database, with a note about DATABASE_URL", () => {
        const status = run(["schema", "status"]);
        assert.equal(status.status, 0, status.stderr + status.stdout);
        assert.match(status.stdout, new RegExp(`^database ${target()}: schema version 2`, "m"));
        assert.match(
            status.stdout,
            /^note: DATABASE_URL names 127\.0\.0\.1:\d+\/e2e_rule_other_\S+; this command uses the dev stack's database/m,
        );
        const apply = run(["schema", "apply"]);
        assert.equal(apply.status, 0, apply.stderr);
        assert.match(apply.stdout, /schema version 2: 0 applied now, 2 in total/);
        const resolve = run(["schema", "resolve", "1", "--applied"]);
        assert.equal(resolve.status, 1);
        assert.match(resolve.stderr, /Version 1 \(create_accounts\) is applied, not failed/);
    });

    it("--url wins over the stack's database", () => {
        const status = run(["schema", "status", "--url", elsewhere]);
        assert.equal(status.status, 0, status.stderr);
        assert.match(status.stdout, new RegExp(`^database ${esc(describeTarget(elsewhere))}: schema version \\(none\\)`, "m"));
    });

    it("db:backup, db:backups, db:restore and db:drill default to dev and its own database", async () => {
        const backup = run(["db", "backup"]);
        assert.equal(backup.status, 0, backup.stderr + backup.stdout);
        assert.match(backup.stdout, new RegExp(`^backup of stack 'dev' \\(${target()}, schema version 2\\)`, "m"));
        const id = /Backup (\S+) taken/.exec(backup.stdout)![1];
        const list = run(["db", "backups"]);
        assert.equal(list.status, 0, list.stderr);
        assert.match(list.stdout, new RegExp(`^ {2}${esc(id)} `, "m"));
        await query(url, "INSERT INTO accounts (email) VALUES ('after-backup@example.com')");
        const restore = run(["db", "restore", "--backup", id, "--yes"]);
        assert.equal(restore.status, 0, restore.stderr + restore.stdout);
        assert.match(restore.stdout, new RegExp(`^Restored ${esc(id)} into ${target()}`, "m"));
        assert.deepEqual(await query(url, "SELECT count(*)::int AS n FROM accounts WHERE email = 'after-backup@example.com'"), [{ n: 0 }]);
        const drill = run(["db", "drill"]);
        assert.equal(drill.status, 0, drill.stderr + drill.stdout);
        assert.match(drill.stdout, new RegExp(`^drill on stack 'dev' \\(${target()}\\)`, "m"));
    });

    it("preflight defaults to dev and checks the history of its own database", () => {
        const res = run(["preflight", "--offline"]);
        assert.match(res.stdout, /^Preflight for stack 'dev':$/m);
        const online = run(["preflight"]);
        assert.match(online.stdout, new RegExp(`^· migration history: ${target()}: schema version 2, 2 applied`, "m"), online.stdout);
    });

    it("db:url, dev:seed and schema:diff: the same database", () => {
        const dbUrl = run(["db", "url"]);
        assert.equal(dbUrl.stdout, `${url}\n`, dbUrl.stderr);
        const seed = run(["dev", "seed"]);
        assert.equal(seed.status, 0, seed.stderr);
        assert.match(seed.stdout, new RegExp(`^seeding ${target()} \\(stack 'dev'\\)`, "m"));
        const diff = run(["schema", "diff", "dev", elsewhere]);
        assert.equal(diff.status, 1, diff.stderr);
        assert.match(diff.stdout, new RegExp(`^dev: the dev stack's database, ${target()}$`, "m"));
    });
});
