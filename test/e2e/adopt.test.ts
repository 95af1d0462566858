/**
 * End to end through the real engine: a database that dbmate migrated is handed to Keel with
 * `npm run schema:adopt`, and then `pulumi preview` of the dev stack (the project's stack file with
 * kind external, its migrations directory the adopted one) plans no migration, `up` applies none and
 * reports the adopted version, and a migration written afterwards is the only one that runs.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { dbmateBin } from "../support/dbmate";
import { EngineWorkspace, requireEngine, ROOT } from "../support/engine";
import { withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";

const query = (url: string, sql: string): Promise<any[]> => withClient(url, async (c) => (await c.query(sql)).rows);

const SCHEMA_TYPE = "pulumi-nodejs:dynamic/keel:SchemaMigrations";

/** dbmate's files as its users write them: an up and a down section each, one without a transaction. */
const DBMATE_FILES: Record<string, string> = {
    "20240101000000_create_users.sql":
        "-- migrate:up\nCREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);\n\n-- migrate:down\nDROP TABLE users;\n",
    "20240102000000_index_users_email.sql":
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n\n-- migrate:down\nDROP INDEX users_email;\n",
    "20240103000000_create_orders.sql":
        "-- migrate:up\nCREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users);\n\n-- migrate:down\nDROP TABLE orders;\n",
};

describe("end to end: a database dbmate migrated, adopted with schema:adopt, then preview and up of the dev stack", function () {
    this.timeout(10 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let stack: Stack;
    let url: string;

    /** The Schema resource's planned inputs, as the engine reports them in its step events. */
    const plannedSchema = (events: EngineEvent[]): any => {
        const step = events.map((e) => e.resourcePreEvent?.metadata).find((m) => m?.type === SCHEMA_TYPE);
        assert.ok(step, "the preview has a step for the schema resource");
        return step!.new?.inputs;
    };
    const history = async () =>
        (await query(url, "SELECT version, name, checksum, applied_at FROM keel_schema_history ORDER BY version::numeric")).map((r) => ({
            ...r,
            applied_at: String(r.applied_at),
        }));

    before(async function () {
        cli = requireEngine(this);
        url = await freshDatabase("e2e_adopt");
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // The dev stack on an existing server whose migrations Keel will read from `adopted/` once adopted.
        ws.editStackFile("dev", (c) => {
            c["keel:database"] = { kind: "external" };
            c["keel:migrations"] = { ...(c["keel:migrations"] ?? {}), dir: "adopted" };
        });
        stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });

        const dbmateDir = path.join(ws.root, "dbmate");
        fs.mkdirSync(dbmateDir);
        for (const [name, text] of Object.entries(DBMATE_FILES)) fs.writeFileSync(path.join(dbmateDir, name), text);
        const migrated = spawnSync(
            dbmateBin(),
            ["--url", `${url}?sslmode=disable`, "--migrations-dir", "dbmate", "--no-dump-schema", "migrate"],
            {
                cwd: ws.root,
                encoding: "utf8",
            },
        );
        assert.equal(migrated.status, 0, `dbmate migrate: ${migrated.stderr}${migrated.stdout}`);
    });

    it("schema:adopt writes Keel's files under dbmate's names and records the three as applied", () => {
        const res = spawnSync(
            process.execPath,
            // The stack is not deployed yet, so its database is named with --url.
            [path.join(ROOT, "dist/cli/main.js"), "schema", "adopt", "--from", "dbmate", "--dir", "dbmate", "--yes", "--url", url],
            {
                cwd: ws.root,
                encoding: "utf8",
                env: ws.env,
                timeout: 5 * 60_000,
            },
        );
        assert.equal(res.status, 0, `${res.stderr}${res.stdout}`);
        assert.deepEqual(fs.readdirSync(path.join(ws.root, "adopted")).sort(), Object.keys(DBMATE_FILES));
        assert.match(
            fs.readFileSync(path.join(ws.root, "adopted", "20240102000000_index_users_email.sql"), "utf8"),
            /^-- keel:no-transaction$/m,
        );
    });

    it("pulumi preview plans no migration for the adopted database", async () => {
        const events: EngineEvent[] = [];
        let output = "";
        await stack.preview({ diff: true, onEvent: (e) => void events.push(e), onOutput: (s) => void (output += s) });
        const planned = plannedSchema(events);
        assert.deepEqual(planned.pending, [], output);
        // What a user reads in `pulumi preview --diff`: no file in `pending`.
        assert.match(output, /pending\s*: \[\]/, output);
    });

    it("up applies nothing: the schema version is the adopted one and keel_schema_history is as adopt wrote it", async () => {
        const before = await history();
        assert.deepEqual(
            before.map((r) => r.version),
            ["20240101000000", "20240102000000", "20240103000000"],
        );
        const up = await stack.up();
        assert.equal(up.outputs.schemaVersion.value, "20240103000000");
        assert.deepEqual(await history(), before);
        // dbmate's own table is left as it was: the project can still be read by dbmate during a move.
        assert.equal((await query(url, "SELECT count(*)::int AS n FROM schema_migrations"))[0].n, 3);
    });

    it("a migration written after adoption is the only one pending, and up applies just it", async () => {
        fs.writeFileSync(path.join(ws.root, "adopted", "20240104000000_add_users_name.sql"), "ALTER TABLE users ADD COLUMN name text;\n");
        const events: EngineEvent[] = [];
        await stack.preview({ diff: true, onEvent: (e) => void events.push(e) });
        assert.deepEqual(plannedSchema(events).pending, ["20240104000000_add_users_name: ALTER TABLE users ADD COLUMN name text"]);
        const up = await stack.up();
        assert.equal(up.outputs.schemaVersion.value, "20240104000000");
        assert.deepEqual(
            (await history()).map((r) => r.version),
            ["20240101000000", "20240102000000", "20240103000000", "20240104000000"],
        );
        assert.equal(
            (
                await query(
                    url,
                    "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'name'",
                )
            )[0].n,
            1,
        );
    });
});
