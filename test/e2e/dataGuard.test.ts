/**
 * End to end through the real engine: the data guard on the dev stack (local
 * database), where nothing was protected before. A config change that would
 * replace the database is refused in preview and in up, naming the property and
 * the way out; a change that stops declaring it (another kind) is refused at its
 * delete, in Keel's words; the data stays through both. `keel:allowDataLoss` naming
 * it lets the next up go ahead, and `npm run destroy` removes the stack.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import type { Stack } from "@pulumi/pulumi/automation";
import { localPaths, serverStatus } from "../../components/database/local/server";
import { runStackCommand } from "../../scripts/stack";
import { destroyStack } from "../../scripts/lib/stackGuard";
import { EngineWorkspace, lastUpdateLosses, requireEngine } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freePort } from "../support/postgres";

describe("end to end: the data guard on the dev stack (local database, real engine)", function () {
    this.timeout(15 * 60_000);
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;
    let savedUrl: string | undefined;

    const rows = (u = url) => withClient(u, async (c) => (await c.query("SELECT email FROM accounts ORDER BY 1")).rows.map((r) => r.email));
    /** `npm run <command> -- dev` as the user runs it: what it printed, and its error if it failed. */
    const npmRun = async (command: "up" | "preview" | "destroy", options: Record<string, unknown> = {}) => {
        let printed = "";
        const out = (t: string) => void (printed += t);
        try {
            await runStackCommand(
                command,
                { stack: "dev", ...options },
                { root: ws.root, env: ws.env, out, err: out, confirm: async () => true },
            );
            return { printed };
        } catch (err) {
            return { printed, error: (err as Error).message };
        }
    };

    before(async function () {
        const cli = requireEngine(this);
        savedUrl = process.env.DATABASE_URL;
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        fs.chmodSync(ws.root, 0o755);
        const port = await freePort();
        ws.editStackFile("dev", (c) => (c["keel:database"].local.port = port));
        stack = await ws.stack("dev");
        url = (await stack.up({})).outputs.databaseUrl.value;
        await withClient(url, (c) => c.query("INSERT INTO accounts (email) VALUES ('kept@example.com')"));
    });

    after(async () => {
        if (savedUrl === undefined) delete process.env.DATABASE_URL;
        else process.env.DATABASE_URL = savedUrl;
        if (stack) await destroyStack(stack).catch(() => undefined);
    });

    it("a change that replaces the database (a new user) is refused by preview and up, naming the property and the fix; the data stays", async () => {
        ws.editStackFile("dev", (c) => (c["keel:database"].local.user = "bob"));
        try {
            const preview = await npmRun("preview");
            assert.ok(preview.error, "preview fails");
            assert.match(preview.printed, /Keel refused to replace database-local \(.*\) on the dev stack: .* because its user changed/);
            const up = await npmRun("up");
            assert.ok(up.error, "up fails");
            assert.match(up.printed, /config set --path 'keel:allowDataLoss\[0\]' database-local --stack dev/);
            assert.deepEqual(await lastUpdateLosses(stack), []);
            assert.deepEqual(await rows(), ["kept@example.com"]);
        } finally {
            ws.editStackFile("dev", (c) => delete c["keel:database"].local.user);
        }
    });

    it("a change that stops declaring the database (kind external) is refused at its delete, in Keel's words; the data stays", async () => {
        const local = (await stack.exportStack()).deployment;
        let database: unknown;
        ws.editStackFile("dev", (c) => {
            database = c["keel:database"];
            c["keel:database"] = { kind: "external" };
        });
        process.env.DATABASE_URL = url;
        try {
            const up = await npmRun("up");
            assert.ok(up.error, "up fails");
            assert.match(
                up.printed,
                /Keel refused to delete database-local \(the local PostgreSQL server and its data directory\) on the dev stack: the program no longer declares it/,
            );
            assert.deepEqual(await lastUpdateLosses(stack), []);
            assert.equal(serverStatus(localPaths(ws.root, "dev")).state, "running");
            assert.deepEqual(await rows(), ["kept@example.com"]);
            assert.ok((await stack.exportStack()).deployment.resources.length >= local.resources.length);
        } finally {
            delete process.env.DATABASE_URL;
            ws.editStackFile("dev", (c) => (c["keel:database"] = database));
        }
        const back = await npmRun("up");
        assert.equal(back.error, undefined, back.printed);
        assert.deepEqual(await rows(), ["kept@example.com"]);
    });

    it("keel:allowDataLoss naming the database lets the next up replace it; destroy removes the stack and its data directory", async () => {
        ws.editStackFile("dev", (c) => {
            c["keel:database"].local.user = "bob";
            c["keel:allowDataLoss"] = ["database-local"];
        });
        const up = await npmRun("up");
        assert.equal(up.error, undefined, up.printed);
        assert.match(up.printed, /keel: keel:allowDataLoss lets this update delete or replace database-local/);
        const replacedUrl = (await stack.outputs()).databaseUrl.value as string;
        assert.equal(new URL(replacedUrl).username, "bob");
        assert.deepEqual(await rows(replacedUrl), [], "a new, empty database: what allowDataLoss allowed");

        const destroy = await npmRun("destroy", { yes: true });
        assert.equal(destroy.error, undefined, destroy.printed);
        assert.equal(fs.existsSync(localPaths(ws.root, "dev").dataDir), false);
        assert.equal((await stack.exportStack()).deployment.resources?.length ?? 0, 0);
    });
});
