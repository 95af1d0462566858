/**
 * The schema provider on a Neon database: before the first pending migration
 * it takes a snapshot branch of the stack's branch (fake Neon API), with the
 * key from configure(); no snapshot, no migration. Migrations themselves run
 * on a real PostgreSQL standing in for the branch's endpoint.
 */
import { strict as assert } from "assert";
import { schemaMigrationsProvider, SchemaMigrationsInputs } from "../../components/schema/provider";
import { FakeNeon } from "../support/fakeNeon";
import { migrationsDir, withClient } from "../support/migrationsDir";
import { freshDatabase } from "../support/postgres";
import { schemaInputs } from "../support/schemaInputs";
import { captureConsole, serializedProvider, unconfigure } from "../support/serializedProvider";

type Provider = typeof schemaMigrationsProvider;

describe("SchemaMigrations provider: Neon snapshot before migrating (fake Neon API)", () => {
    let fake: FakeNeon;
    let provider: Provider;
    let text: string;

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0, apiKey: "napi_schema_backup_key" });
        ({ provider, text } = await serializedProvider(schemaMigrationsProvider));
        const config: Record<string, string> = { "keel:neonApiKey": fake.apiKey, "keel:neonApiUrl": fake.url };
        await provider.configure!({
            config: { get: (k: string) => config[k.includes(":") ? k : `keel:${k}`], require: (k: string) => config[`keel:${k}`] },
        });
    });
    after(async () => {
        await unconfigure(provider);
        await fake.stop();
    });

    async function inputs(url: string, dir: string, neon: { projectId: string; branchId: string }): Promise<SchemaMigrationsInputs> {
        const base = await schemaInputs(url, dir, { backup: true });
        return { ...base, appliedBy: "staging:test", stack: "staging", databaseKind: "neon", neon: { ...neon, branchName: "staging" } };
    }

    async function stagingBranch() {
        fake.reset();
        const project = fake.seedProject("shop", { branchName: "main", roleName: "app", databaseName: "app" });
        const main = fake.branch(project.id, "main")!;
        const staging = (await fetch(`${fake.url}/projects/${project.id}/branches`, {
            method: "POST",
            headers: { authorization: `Bearer ${fake.apiKey}`, "content-type": "application/json" },
            body: JSON.stringify({ branch: { parent_id: main.id, name: "staging" } }),
        }).then((r) => r.json())) as any;
        fake.finishOperations(); // the branch is ready
        return { projectId: project.id, branchId: staging.branch.id as string };
    }

    it("captures no key, snapshots the branch before the first migration and names it in the outputs", async () => {
        assert.ok(!text.includes(fake.apiKey), "the serialized provider carries no key");
        const neon = await stagingBranch();
        const url = await freshDatabase("neonbackup");
        const dir = migrationsDir({ "1_users.sql": "CREATE TABLE users (id int PRIMARY KEY);" });
        const checked = await provider.check!({} as any, await inputs(url, dir, neon));
        fake.requests.splice(0);
        const { result, lines } = await captureConsole(() => provider.create!(checked.inputs!));
        const backup = result.outs!.latestBackup!;
        assert.equal(backup.kind, "neon-branch");
        assert.equal(backup.beforeVersion, "1");
        assert.equal(backup.schemaVersion, "");
        const snapshot = fake.state.branches.find((b) => b.id === backup.branchId);
        assert.ok(snapshot, "the snapshot branch exists");
        assert.equal(snapshot!.parent_id, neon.branchId, "a child of the stack's branch");
        assert.match(snapshot!.name, /^backup-staging-\d{8}-\d{6}-before-1$/);
        assert.ok(
            fake.requests.every((r) => r.authorization === `Bearer ${fake.apiKey}`),
            "the key came from configure",
        );
        // The snapshot came first, then the migration.
        const snapLine = lines.findIndex((l) => l.includes(snapshot!.name));
        const applyLine = lines.findIndex((l) => /applied 1_users\.sql/.test(l));
        assert.ok(snapLine >= 0 && applyLine > snapLine, lines.join("\n"));
        assert.equal((await withClient(url, (c) => c.query("SELECT count(*)::int AS n FROM keel_schema_history"))).rows[0].n, 1);
    });

    it("applies nothing when the snapshot fails", async () => {
        const neon = await stagingBranch();
        const url = await freshDatabase("neonbackup");
        const dir = migrationsDir({ "1_users.sql": "CREATE TABLE users (id int PRIMARY KEY);" });
        const checked = await provider.check!({} as any, await inputs(url, dir, neon));
        fake.inject({ method: "POST", path: /\/branches$/, status: 403, times: 5 });
        await assert.rejects(
            captureConsole(() => provider.create!(checked.inputs!)),
            (err: Error) => {
                assert.match(
                    err.message,
                    /No backup, no migration: the Neon snapshot of branch 'staging' before 1_users failed, so nothing was applied/,
                );
                assert.ok(!err.message.includes(fake.apiKey));
                return true;
            },
        );
        const rows = await withClient(url, (c) => c.query("SELECT to_regclass('public.users') AS t"));
        assert.equal(rows.rows[0].t, null, "the migration did not run");
    });
});
