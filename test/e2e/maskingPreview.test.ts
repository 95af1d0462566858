/**
 * End to end through the real engine: the dev stack on an existing PostgreSQL, made a stack
 * that receives copies (keel:copyFrom staging). Without db/masking.yaml preview only warns;
 * with it, a migration that adds a column without a rule fails preview and up before any
 * step (nothing created, updated or deleted; the column is not added), naming the file:line
 * and the line to add; with the rule added, the same migration deploys.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";
import { destroyStack } from "../../scripts/lib/stackGuard";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

const RULES = ["accounts:", "  id: keep", "  email: email", "  created_at: keep", "  updated_at: keep", ""].join("\n");

describe("end to end: preview and up of a stack that receives copies check its masking rules (dev stack, existing PostgreSQL)", function () {
    this.timeout(10 * 60_000);
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;
    let output = "";
    const onOutput = (s: string) => void (output += s);
    const rulesFile = () => path.join(ws.root, "db", "masking.yaml");

    before(async function () {
        const cli = requireEngine(this);
        url = await freshDatabase("e2e_mask");
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        ws.editStackFile("dev", (c) => {
            c["keel:database"] = { kind: "external" };
            c["keel:copyFrom"] = "staging";
        });
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
        // The workspace is a copy of the example project, whose rules this test writes itself.
        fs.rmSync(rulesFile(), { force: true });
    });

    after(async () => {
        if (stack) await destroyStack(stack).catch(() => undefined);
    });

    it("without db/masking.yaml: preview warns that copies of staging will be refused until mask-init, and plans as usual", async () => {
        assert.equal(fs.existsSync(rulesFile()), false);
        output = "";
        const preview = await stack.preview({ onOutput });
        assert.equal(preview.changeSummary.create, 4, output);
        assert.match(
            output.replace(/\s+/g, " "),
            /Stack 'dev' receives copies of the staging stack, and db\/masking\.yaml does not exist: `keel db copy` will refuse a masked copy until `keel db mask-init` writes the rules/,
        );
    });

    it("with rules that classify every column: up deploys, no warning", async () => {
        fs.writeFileSync(rulesFile(), RULES);
        output = "";
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "2");
        assert.doesNotMatch(output, /receives copies/);
    });

    it("a migration adding a column without a rule: preview and up fail before any step, naming the file:line and the line to add", async () => {
        const before = JSON.parse(ws.checkpointText("dev")).checkpoint.latest.resources.map((r: { urn: string }) => r.urn);
        ws.writeMigration("0003_accounts_phone.sql", "-- how to reach the account holder\nALTER TABLE accounts ADD COLUMN phone text;\n");

        const events: EngineEvent[] = [];
        output = "";
        let message = "";
        await assert.rejects(stack.preview({ onOutput, onEvent: (e) => void events.push(e) }), (err: Error) => {
            message = err.message;
            return true;
        });
        const ops = events.flatMap((e) => (e.resourcePreEvent ? [e.resourcePreEvent.metadata.op] : []));
        assert.deepEqual(
            ops.filter((op) => op !== "same"),
            [],
            `preview planned ${ops.join(", ")}`,
        );
        const said = `${output}\n${message}`;
        assert.match(said, /Stack 'dev' receives copies of the staging stack, so every column its migrations create needs a masking rule/);
        assert.match(said, /accounts\.phone \(added at migrations\/0003_accounts_phone\.sql:2\)/);
        assert.match(said, /fix: add under 'accounts:' the line 'phone: phone {2}# review: guessed a phone number'/);

        output = "";
        await assert.rejects(stack.up({ onOutput }));
        const [last] = await stack.history(1);
        assert.equal(last.result, "failed");
        const changes = Object.entries(last.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && n);
        assert.deepEqual(changes, [], `the update changed ${JSON.stringify(last.resourceChanges)}`);
        assert.deepEqual(
            JSON.parse(ws.checkpointText("dev")).checkpoint.latest.resources.map((r: { urn: string }) => r.urn),
            before,
        );
        assert.deepEqual(
            await query(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'phone'"),
            [],
        );
        assert.deepEqual(
            (await query(url, "SELECT version FROM keel_schema_history ORDER BY 1")).map((r) => r.version),
            ["1", "2"],
        );
    });

    it("with the rule added, the same migration deploys", async () => {
        fs.writeFileSync(rulesFile(), RULES + "  phone: phone\n");
        const up = await stack.up({ onOutput });
        assert.equal(up.outputs.schemaVersion.value, "3");
        assert.equal(
            (
                await query(
                    url,
                    "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'phone'",
                )
            )[0].n,
            1,
        );
    });
});
