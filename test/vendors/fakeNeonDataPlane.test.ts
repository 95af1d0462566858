/**
 * The fake Neon's data plane (FakeNeon's dataPlane option), through its HTTP
 * API with Keel's Neon client: every branch's database is a real database of
 * its own on the test cluster, a new branch starts with a copy of its
 * parent's data, a restore brings the source's data and keeps the old under
 * the preserved branch, deletes drop. What db copy/db reset tests stand on.
 */
import { strict as assert } from "assert";
import { Client } from "pg";
import { Api, neonClient, waitForOperations } from "../../components/vendors/neon";
import { FakeNeon } from "../support/fakeNeon";
import { fakePgBin } from "../support/pgBin";
import { physicalDatabaseName } from "../support/neonDataPlane";
import { DATE_TIME, loadSpec, OpenApiSpec, UUID } from "../support/openapi";
import { PostgresCluster, testCluster } from "../support/postgres";

describe("fake Neon data plane (a real database per branch)", function () {
    let cluster: PostgresCluster;
    let neon: FakeNeon;
    let api: Api;

    before(async () => {
        cluster = await testCluster();
        neon = await FakeNeon.start({ dataPlane: { adminUrl: cluster.url("postgres") } });
        api = neonClient({ apiKey: neon.apiKey, baseUrl: neon.url, policy: { baseDelayMs: 10 } });
    });
    after(() => neon?.stop());

    /** A URI the fake handed out, connected to as it says (sslmode=require: TLS verified against the cluster's CA), or a physicalUrl. */
    async function connect(uri: string): Promise<Client> {
        const tls = uri.includes("sslmode=") ? `&sslrootcert=${encodeURIComponent(cluster.caFile)}` : "";
        const c = new Client({ connectionString: `${uri}${tls}` });
        await c.connect();
        return c;
    }

    async function rows(uri: string): Promise<string[]> {
        const c = await connect(uri);
        try {
            return (await c.query("SELECT v FROM t ORDER BY v")).rows.map((r) => r.v);
        } finally {
            await c.end();
        }
    }

    async function insert(uri: string, ...values: string[]): Promise<void> {
        const c = await connect(uri);
        try {
            for (const v of values) await c.query("INSERT INTO t (v) VALUES ($1)", [v]);
        } finally {
            await c.end();
        }
    }

    /** Databases of the cluster whose names start with `nb_`. */
    async function physical(): Promise<string[]> {
        const c = new Client({ connectionString: cluster.url("postgres") });
        await c.connect();
        try {
            return (await c.query("SELECT datname FROM pg_database WHERE datname LIKE 'nb\\_%' ORDER BY datname")).rows.map(
                (r) => r.datname,
            );
        } finally {
            await c.end();
        }
    }

    async function project(name: string, role: string): Promise<{ projectId: string; mainId: string; uri: string }> {
        const { data } = await api.createProject({ project: { name, branch: { role_name: role, database_name: "app" } } });
        await waitForOperations(api, data.project.id, data.operations, { pollMs: 5 });
        return { projectId: data.project.id, mainId: data.branch.id, uri: data.connection_uris[0].connection_uri };
    }

    async function uriOf(projectId: string, branchId: string, role: string, database = "app"): Promise<string> {
        const { data } = await api.getConnectionUri({ projectId, branch_id: branchId, database_name: database, role_name: role });
        return data.uri;
    }

    async function branch(projectId: string, spec: Record<string, unknown>): Promise<{ id: string; uri?: string }> {
        const { data } = await api.createProjectBranch(projectId, { branch: spec, endpoints: [{ type: "read_write" as any }] });
        await waitForOperations(api, projectId, data.operations, { pollMs: 5 });
        return { id: data.branch.id, uri: data.connection_uris?.[0]?.connection_uri };
    }

    it("gives each branch its own copy: a child starts with the parent's rows, later writes stay on their side, restore and delete act on the data", async () => {
        const role = "dp_owner";
        const { projectId, mainId, uri: mainUri } = await project("dp", role);
        const u = new URL(mainUri);
        assert.equal(u.host, cluster.hostPort);
        assert.equal(u.pathname, `/${physicalDatabaseName(mainId, "app")}`);
        assert.equal(decodeURIComponent(u.username), role);
        assert.equal(await uriOf(projectId, mainId, role), mainUri);
        // The role owns its database: it makes tables there itself.
        const held = await connect(mainUri);
        await held.query("CREATE TABLE t (v text PRIMARY KEY)");
        await insert(mainUri, "main-1");

        // A session stays open on the parent while the child is made: the copy neither needs it gone nor ends it.
        const child = await branch(projectId, { name: "child" });
        assert.equal((await held.query("SELECT count(*)::int AS n FROM t")).rows[0].n, 1);
        await held.end();
        const childUri = await uriOf(projectId, child.id, role);
        assert.equal(child.uri, childUri);
        assert.notEqual(new URL(childUri).pathname, u.pathname);
        assert.deepEqual(await rows(childUri), ["main-1"]);

        await insert(childUri, "child-1");
        await insert(mainUri, "main-2");
        assert.deepEqual(await rows(mainUri), ["main-1", "main-2"]);
        assert.deepEqual(await rows(childUri), ["child-1", "main-1"]);

        // Restore main from the child, main's data kept as "before".
        const { data: restored } = await api.restoreProjectBranch(projectId, mainId, {
            source_branch_id: child.id,
            preserve_under_name: "before",
        });
        await waitForOperations(api, projectId, restored.operations, { pollMs: 5 });
        const before = neon.branch(projectId, "before")!;
        assert.ok(before);
        assert.equal(await uriOf(projectId, mainId, role), mainUri);
        assert.deepEqual(await rows(mainUri), ["child-1", "main-1"]);
        // The preserved branch has no endpoint: a test reads it as the superuser.
        const beforeUri = neon.physicalUrl(before.id, "app");
        assert.equal(new URL(beforeUri).pathname, `/${physicalDatabaseName(before.id, "app")}`);
        assert.deepEqual(await rows(beforeUri), ["main-1", "main-2"]);
        // Restored is copied, not shared: main and the child go their own ways again.
        await insert(mainUri, "main-3");
        assert.deepEqual(await rows(childUri), ["child-1", "main-1"]);
        assert.deepEqual(await rows(beforeUri), ["main-1", "main-2"]);

        const names = [mainId, child.id, before.id].map((id) => physicalDatabaseName(id, "app")).sort();
        assert.deepEqual(await physical(), names);
        assert.deepEqual(await neon.physicalDatabases(), names);
        // The child was re-parented under "before": it goes first.
        for (const id of [child.id, before.id]) {
            const { data } = await api.deleteProjectBranch({ projectId, branchId: id });
            await waitForOperations(api, projectId, data.operations, { pollMs: 5 });
        }
        assert.deepEqual(await physical(), [physicalDatabaseName(mainId, "app")]);
        assert.deepEqual(await rows(mainUri), ["child-1", "main-1", "main-3"]);

        await api.deleteProject(projectId);
        assert.deepEqual(await physical(), []);
    });

    it("creates, renames and drops a database added to a branch, and a schema-only branch gets the tables without the rows", async () => {
        const role = "dp_owner2";
        const { projectId, mainId } = await project("dp2", role);
        const { data: created } = await api.createProjectBranchDatabase(projectId, mainId, {
            database: { name: "Extra-DB", owner_name: role },
        });
        await waitForOperations(api, projectId, created.operations, { pollMs: 5 });
        const extra = physicalDatabaseName(mainId, "Extra-DB");
        assert.ok(extra.length <= 63 && extra !== physicalDatabaseName(mainId, "extra_db"));
        const extraUri = await uriOf(projectId, mainId, role, "Extra-DB");
        assert.equal(new URL(extraUri).pathname, `/${extra}`);
        const c = await connect(extraUri);
        await c.query("CREATE TABLE t (v text PRIMARY KEY); INSERT INTO t VALUES ('x')");
        await c.end();

        const schemaOnly = await branch(projectId, { name: "schema", init_source: "schema-only" });
        assert.equal(schemaOnly.uri, undefined, "two databases: Neon gives no connection URI");
        assert.deepEqual(await rows(await uriOf(projectId, schemaOnly.id, role, "Extra-DB")), []);

        const { data: renamed } = await api.updateProjectBranchDatabase(projectId, mainId, "Extra-DB", { database: { name: "more" } });
        await waitForOperations(api, projectId, renamed.operations, { pollMs: 5 });
        const more = await uriOf(projectId, mainId, role, "more");
        assert.deepEqual(await rows(more), ["x"]);
        assert.ok(!(await physical()).includes(extra));

        const { data: deleted } = await api.deleteProjectBranchDatabase(projectId, mainId, "more");
        await waitForOperations(api, projectId, deleted.operations, { pollMs: 5 });
        assert.ok(!(await physical()).includes(physicalDatabaseName(mainId, "more")));
        assert.ok((await physical()).includes(physicalDatabaseName(schemaOnly.id, "Extra-DB")));
    });

    it("restores without preserving (the old data dropped) and onto itself (the same data, the old kept too)", async () => {
        const role = "dp_owner4";
        const { projectId, mainId, uri: mainUri } = await project("dp4", role);
        const c = await connect(mainUri);
        await c.query("CREATE TABLE t (v text PRIMARY KEY); INSERT INTO t VALUES ('main-1')");
        await c.end();
        const other = await branch(projectId, { name: "other" });
        const otherUri = await uriOf(projectId, other.id, role);
        await insert(otherUri, "other-1");
        const leaf = await branch(projectId, { name: "leaf", parent_id: other.id });
        const leafUri = await uriOf(projectId, leaf.id, role);
        await insert(leafUri, "leaf-1");

        // "leaf" has no children: no branch keeps its data.
        const { data: plain } = await api.restoreProjectBranch(projectId, leaf.id, { source_branch_id: mainId });
        await waitForOperations(api, projectId, plain.operations, { pollMs: 5 });
        assert.deepEqual(await rows(leafUri), ["main-1"]);

        const { data: self } = await api.restoreProjectBranch(projectId, other.id, {
            source_branch_id: other.id,
            source_timestamp: "2026-01-01T00:00:00Z",
            preserve_under_name: "other_old",
        });
        await waitForOperations(api, projectId, self.operations, { pollMs: 5 });
        const kept = neon.branch(projectId, "other_old")!;
        assert.deepEqual(await rows(otherUri), ["main-1", "other-1"]);
        assert.deepEqual(await rows(neon.physicalUrl(kept.id, "app")), ["main-1", "other-1"]);
        await insert(otherUri, "other-2");
        assert.deepEqual(await rows(neon.physicalUrl(kept.id, "app")), ["main-1", "other-1"]);
        assert.deepEqual(
            (await api.listProjectBranchDatabases(projectId, other.id)).data.databases.map((d) => d.name),
            ["app"],
        );
    });

    it("expireBranches() and reset() drop the databases they forget (settled() waits for that)", async () => {
        const other = await FakeNeon.start({ dataPlane: { adminUrl: cluster.url("postgres") } });
        try {
            const seeded = other.seedProject("exp", { roleName: "dp_exp_role", databaseName: "app" });
            const main = other.branch(seeded.id, "main")!;
            const otherApi = neonClient({ apiKey: other.apiKey, baseUrl: other.url, policy: { baseDelayMs: 10 } });
            const expiresAt = new Date(other.clock.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
            const { data } = await otherApi.createProjectBranch(seeded.id, { branch: { name: "tmp", expires_at: expiresAt } });
            const tmp = physicalDatabaseName(data.branch.id, "app");
            assert.ok((await physical()).includes(tmp));
            assert.deepEqual(other.expireBranches(other.clock.now() + 3600_000), ["tmp"]);
            await other.settled();
            assert.ok(!(await physical()).includes(tmp));
            assert.ok((await physical()).includes(physicalDatabaseName(main.id, "app")));
            other.reset();
            await other.settled();
            assert.ok(!(await physical()).includes(physicalDatabaseName(main.id, "app")));
        } finally {
            await other.stop();
        }
    });

    it("a copy that fails is a 500 naming why, and the branch's operation fails with it", async () => {
        const broken = await FakeNeon.start({
            operationPolls: 0,
            dataPlane: { adminUrl: cluster.url("postgres"), pgBin: fakePgBin("echo 'pg_dump: disk on fire' >&2; exit 3") },
        });
        try {
            const seeded = broken.seedProject("broken", { roleName: "dp_broken_role", databaseName: "app" });
            const brokenApi = neonClient({ apiKey: broken.apiKey, baseUrl: broken.url, policy: { baseDelayMs: 10, maxServerRetries: 0 } });
            await assert.rejects(brokenApi.createProjectBranch(seeded.id, { branch: { name: "child" } }), (e: Error) =>
                /500 fake Neon data plane: copying database .* pg_dump exited 3 \(pg_dump: disk on fire\)/.test(e.message),
            );
            const op = broken.state.operations.find((o) => o.action === "create_branch")!;
            assert.match(op.fails ?? "", /disk on fire/);
        } finally {
            await broken.stop();
        }
    });

    it("stop() drops the databases and the roles it made", async () => {
        const other = await FakeNeon.start({ dataPlane: { adminUrl: cluster.url("postgres") } });
        const seeded = other.seedProject("seeded", { roleName: "dp_seeded_role", databaseName: "app" });
        const main = other.branch(seeded.id, "main")!;
        await other.settled();
        const name = physicalDatabaseName(main.id, "app");
        assert.ok((await physical()).includes(name));
        await other.stop();
        assert.ok(!(await physical()).includes(name));
        const c = new Client({ connectionString: cluster.url("postgres") });
        await c.connect();
        const { rowCount } = await c.query("SELECT 1 FROM pg_roles WHERE rolname = 'dp_seeded_role'");
        await c.end();
        assert.equal(rowCount, 0);
    });

    it("answers in the spec's shapes with it on (create-branch connection_uris included)", async function () {
        const spec = await loadSpec(this, "neon.openapi.json");
        const unchecked = { int32: true, int64: true, uint64: true, double: true, int: true, email: true, uri: true } as const;
        const index = new OpenApiSpec(spec, { formats: { "date-time": DATE_TIME, uuid: UUID, ...unchecked } });
        const from = neon.requests.length;
        const role = "dp_owner3";
        const { projectId, mainId } = await project("dp3", role);
        const child = await branch(projectId, { name: "child" });
        assert.ok(child.uri);
        await uriOf(projectId, child.id, role);
        const { data } = await api.restoreProjectBranch(projectId, mainId, { source_branch_id: child.id, preserve_under_name: "old" });
        await waitForOperations(api, projectId, data.operations, { pollMs: 5 });
        await api.deleteProject(projectId);
        const problems: string[] = [];
        for (const r of neon.requests.slice(from)) {
            const template = index.template(r.path)!;
            const response = index.responseSchema(r.method, template, r.status!);
            if (response.at)
                problems.push(...index.validate(response.at, r.response).map((e) => `${r.method} ${template} -> ${r.status}: ${e}`));
        }
        assert.deepEqual(problems, []);
        assert.ok(neon.requests.slice(from).some((r) => r.method === "POST" && /\/branches$/.test(r.path) && r.response?.connection_uris));
    });

    it("names physical databases deterministically, apart and within PostgreSQL's 63 bytes", () => {
        assert.equal(physicalDatabaseName("br-wild-lake-123456", "app"), "nb_br_wild_lake_123456_app");
        const long = "d".repeat(80);
        assert.equal(physicalDatabaseName("br-a", long), physicalDatabaseName("br-a", long));
        assert.ok(Buffer.byteLength(physicalDatabaseName("br-a", long)) <= 63);
        assert.notEqual(physicalDatabaseName("br-a", long), physicalDatabaseName("br-a", `${long}e`));
        assert.notEqual(physicalDatabaseName("br-a", "a-b"), physicalDatabaseName("br-a", "a_b"));
    });
});
