/**
 * The Neon dynamic providers, each round-tripped through closure
 * serialization as the engine does, against the local fake Neon API: find
 * before create, waiting for operations, retries, lost responses, drift on
 * read, and refusing to delete prod.
 */
import { strict as assert } from "assert";
import type * as pulumi from "@pulumi/pulumi";
import { neonBranchProvider, NeonBranchInputs, NeonBranchOutputs } from "../../components/database/neon/branch";
import { neonBranchDatabaseProvider, NeonBranchDatabaseInputs, NeonBranchDatabaseOutputs } from "../../components/database/neon/database";
import { neonEndpointProvider, NeonEndpointInputs, NeonEndpointOutputs } from "../../components/database/neon/endpoint";
import { neonProjectProvider, NeonProjectInputs, NeonProjectOutputs } from "../../components/database/neon/project";
import { neonRoleProvider, NeonRoleInputs, NeonRoleOutputs, ROLE_SECRET_OUTPUTS } from "../../components/database/neon/role";
import { UNKNOWN } from "../../components/database/neon/common";
import { neonBackupTarget, takeNeonBackup } from "../../components/backup/neon";
import { FakeNeon, setNeonEnv } from "../support/fakeNeon";
import { captureConsole, serializedProvider, unconfigure } from "../support/serializedProvider";

type P<I, O> = pulumi.dynamic.ResourceProvider<I, O>;
interface Providers {
    project: P<NeonProjectInputs, NeonProjectOutputs>;
    branch: P<NeonBranchInputs, NeonBranchOutputs>;
    endpoint: P<NeonEndpointInputs, NeonEndpointOutputs>;
    role: P<NeonRoleInputs, NeonRoleOutputs>;
    db: P<NeonBranchDatabaseInputs, NeonBranchDatabaseOutputs>;
}

interface StackSpec {
    stack: string;
    owned: boolean;
    branch: string;
    parent?: string;
    protected: boolean;
    schemaOnly?: boolean;
    protect: boolean;
    allowDelete?: boolean;
    endpoint?: { minCu: number; maxCu: number; suspendTimeoutSeconds: number };
}

interface Deployed {
    project: { id: string; outs: NeonProjectOutputs };
    branch: { id: string; outs: NeonBranchOutputs };
    endpoint: { id: string; outs: NeonEndpointOutputs };
    role: { id: string; outs: NeonRoleOutputs };
    db: { id: string; outs: NeonBranchDatabaseOutputs };
}

const PROD: StackSpec = { stack: "prod", owned: true, branch: "main", protected: true, protect: true };
const STAGING: StackSpec = {
    stack: "staging",
    owned: false,
    branch: "staging",
    parent: "main",
    protected: false,
    schemaOnly: true,
    protect: false,
};

function common(s: StackSpec) {
    return { stack: s.stack, protect: s.protect, allowDelete: s.allowDelete ?? false };
}

function projectInputs(s: StackSpec): NeonProjectInputs {
    return {
        name: "keel-app",
        owned: s.owned,
        regionId: "aws-us-east-2",
        pgVersion: 16,
        ...(s.owned && !s.parent ? { defaultBranchName: s.branch, roleName: "app", databaseName: "app" } : {}),
        ...common(s),
    };
}

function branchInputs(s: StackSpec, projectId: string): NeonBranchInputs {
    return {
        projectId,
        name: s.branch,
        ...(s.parent ? { parent: s.parent } : {}),
        protected: s.protected,
        schemaOnly: s.schemaOnly ?? false,
        ...common(s),
    };
}

function endpointInputs(s: StackSpec, projectId: string, branchId: string): NeonEndpointInputs {
    return { projectId, branchId, ...(s.endpoint ?? { minCu: 0.25, maxCu: 1, suspendTimeoutSeconds: 300 }), ...common(s) };
}

/** check then create, as the engine does; fails on check failures. */
async function checkAndCreate<I, O>(p: P<I, O>, inputs: I): Promise<{ id: string; outs: O }> {
    const checked = await p.check!({} as I, inputs);
    assert.deepEqual(checked.failures ?? [], [], JSON.stringify(checked.failures));
    const created = await p.create(checked.inputs!);
    return { id: created.id, outs: created.outs! };
}

/** What `pulumi up` of one stack does with these five resources, in dependency order. */
async function deploy(p: Providers, s: StackSpec): Promise<Deployed> {
    const project = await checkAndCreate(p.project, projectInputs(s));
    const projectId = project.outs.projectId;
    const branch = await checkAndCreate(p.branch, branchInputs(s, projectId));
    const branchId = branch.outs.branchId;
    const endpoint = await checkAndCreate(p.endpoint, endpointInputs(s, projectId, branchId));
    const role = await checkAndCreate(p.role, { projectId, branchId, name: "app", resetPasswordOnAdopt: !!s.parent, ...common(s) });
    const db = await checkAndCreate(p.db, { projectId, branchId, name: "app", ownerName: role.outs.name, ...common(s) });
    return { project, branch, endpoint, role, db };
}

/** Runs fn with pulumi.log's console output captured; returns both. */
async function logged<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
    return captureConsole(fn);
}

const quiet = <T>(fn: () => Promise<T>): Promise<T> => logged(fn).then((r) => r.result);

describe("Neon providers (serialized as the engine does, against the fake Neon API)", () => {
    let fake: FakeNeon;
    let p: Providers;
    let texts: string[];
    let restoreEnv: () => void;

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0 });
        // The key and URL exist in this process before serialization, and no provider may capture them.
        restoreEnv = setNeonEnv({ NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url });
        const s = await Promise.all([
            serializedProvider(neonProjectProvider),
            serializedProvider(neonBranchProvider),
            serializedProvider(neonEndpointProvider),
            serializedProvider(neonRoleProvider),
            serializedProvider(neonBranchDatabaseProvider),
        ]);
        p = { project: s[0].provider, branch: s[1].provider, endpoint: s[2].provider, role: s[3].provider, db: s[4].provider };
        texts = s.map((x) => x.text);
    });

    after(async () => {
        restoreEnv();
        await fake.stop();
    });

    beforeEach(() => {
        fake.reset();
        fake.operationPolls = 0;
        fake.protectedBranches = true;
    });

    it("serializes every provider without the API key or the API's address", () => {
        for (const text of texts) {
            assert.ok(!text.includes(fake.apiKey), "no API key in a serialized provider");
            assert.ok(!text.includes(fake.url), "no captured base URL");
        }
    });

    it("prod: creates the project with its default branch named, protected, sized, and adopts the role and database it came with", async () => {
        const { result: prod, lines } = await logged(() => deploy(p, PROD));
        assert.equal(fake.state.projects.length, 1);
        const project = fake.state.projects[0];
        assert.deepEqual([project.name, project.region_id, project.pg_version], ["keel-app", "aws-us-east-2", 16]);
        assert.equal(prod.project.id, project.id);

        const main = fake.branch(project.id, "main")!;
        assert.deepEqual([main.default, main.protected], [true, true]);
        assert.equal(prod.branch.id, main.id);
        assert.deepEqual([prod.branch.outs.isDefault, prod.branch.outs.protected, prod.branch.outs.protectionRefused], [true, true, false]);

        const endpoints = fake.state.endpoints.filter((e) => e.branch_id === main.id);
        assert.equal(endpoints.length, 1, "the project's endpoint is adopted, not doubled");
        assert.deepEqual(
            [endpoints[0].autoscaling_limit_min_cu, endpoints[0].autoscaling_limit_max_cu, endpoints[0].suspend_timeout_seconds],
            [0.25, 1, 300],
        );
        assert.equal(prod.endpoint.outs.host, endpoints[0].host);
        assert.equal(prod.endpoint.outs.poolerHost, endpoints[0].host.replace(/^(ep-[^.]+)\./, "$1-pooler."));

        const role = fake.state.roles.filter((r) => r.branch_id === main.id);
        assert.deepEqual(
            role.map((r) => r.name),
            ["app"],
        );
        assert.equal(prod.role.outs.password, role[0].password, "the adopted role's password is revealed, not reset");
        assert.deepEqual(
            fake.state.databases.filter((d) => d.branch_id === main.id).map((d) => [d.name, d.owner_name]),
            [["app", "app"]],
        );

        // Every operation was waited for: none is running, and no request met our own lock.
        assert.deepEqual(fake.runningOperations(), []);
        assert.deepEqual(
            fake.requests.filter((r) => r.status === 423),
            [],
        );
        assert.ok(
            lines.some((l) => /created Neon project 'keel-app'/.test(l)),
            lines.join("\n"),
        );
    });

    it("waits for every operation of a mutation before the next mutation", async () => {
        fake.operationPolls = 1;
        await quiet(() => deploy(p, PROD));
        await quiet(() => deploy(p, STAGING));
        // Replay the log: a mutation may only be sent once every operation returned so far reads finished.
        const pending = new Set<string>();
        for (const r of fake.requests) {
            if (r.method !== "GET") assert.deepEqual([...pending], [], `${r.method} ${r.path} was sent while operations were running`);
            for (const op of r.response?.operations ?? []) if (op.status !== "finished") pending.add(op.id);
            if (r.response?.operation?.status === "finished") pending.delete(r.response.operation.id);
        }
        assert.deepEqual([...pending], []);
        assert.deepEqual(
            fake.requests.filter((r) => r.status === 423),
            [],
        );
    });

    it("staging: a schema-only child of prod's branch, its own endpoint and role password, prod's project untouched", async () => {
        const prod = await quiet(() => deploy(p, PROD));
        const before = fake.requests.length;
        const staging = await quiet(() => deploy(p, { ...STAGING, endpoint: { minCu: 0.5, maxCu: 2, suspendTimeoutSeconds: 600 } }));
        const projectId = prod.project.id;
        assert.equal(staging.project.id, projectId, "found by name");
        const branch = fake.branch(projectId, "staging")!;
        assert.deepEqual([branch.default, branch.init_source, branch.parent_id], [false, "schema-only", prod.branch.id]);
        assert.equal(staging.branch.id, branch.id);
        const endpoint = fake.state.endpoints.find((e) => e.branch_id === branch.id)!;
        assert.deepEqual(
            [endpoint.autoscaling_limit_min_cu, endpoint.autoscaling_limit_max_cu, endpoint.suspend_timeout_seconds],
            [0.5, 2, 600],
        );
        assert.equal(staging.endpoint.id, endpoint.id);

        const stagingRole = fake.state.roles.find((r) => r.branch_id === branch.id && r.name === "app")!;
        const prodRole = fake.state.roles.find((r) => r.branch_id === prod.branch.id && r.name === "app")!;
        assert.equal(staging.role.outs.password, stagingRole.password);
        assert.notEqual(stagingRole.password, prodRole.password, "the inherited role got its own password");
        assert.equal(prodRole.password, prod.role.outs.password, "prod's password is unchanged");
        assert.equal(
            fake.state.databases.filter((d) => d.branch_id === branch.id && d.name === "app").length,
            1,
            "the inherited database is adopted",
        );

        const stagingMutations = fake.requests.slice(before).filter((r) => r.method !== "GET");
        assert.ok(!stagingMutations.some((r) => /^\/projects(\/[^/]+)?$/.test(r.path)), "the staging stack never mutates the project");
        assert.ok(!stagingMutations.some((r) => r.path.includes(prod.branch.id)), "nor prod's branch");
    });

    it("a stack that does not own the project: a clear error when it is missing; update and delete never mutate it", async () => {
        await assert.rejects(
            quiet(() => p.project.create(projectInputs(STAGING))),
            (e: Error) =>
                /Neon project 'keel-app' does not exist, and the staging stack does not own it: .* Run 'pulumi up' on that stack first\./.test(
                    e.message,
                ),
        );
        assert.deepEqual(fake.mutations(), []);

        const prod = await quiet(() => deploy(p, PROD));
        const staging = await quiet(() => p.project.create(projectInputs(STAGING)));
        const before = fake.requests.length;
        const news = { ...projectInputs(STAGING), regionId: "aws-eu-central-1" };
        await assert.rejects(
            quiet(() => p.project.update!(staging.id, staging.outs!, news)),
            (e: Error) => /its region is aws-us-east-2, the config says aws-eu-central-1/.test(e.message),
        );
        await quiet(() => p.project.update!(staging.id, staging.outs!, projectInputs(STAGING)));
        const { lines } = await logged(() => p.project.delete!(staging.id, staging.outs!));
        assert.ok(
            lines.some((l) => /leaving Neon project 'keel-app' \(.*\) alone: the staging stack only looks it up/.test(l)),
            lines.join("\n"),
        );
        assert.deepEqual(
            fake.requests.slice(before).filter((r) => r.method !== "GET"),
            [],
        );
        assert.ok(fake.state.projects.find((x) => x.id === prod.project.id));
    });

    it("adopts an existing project by name and refuses one whose region or PostgreSQL version differ", async () => {
        const existing = fake.seedProject("keel-app", { pgVersion: 16 });
        const adopted = await quiet(() => checkAndCreate(p.project, projectInputs(PROD)));
        assert.equal(adopted.id, existing.id);
        assert.equal(fake.mutations().length, 0);

        fake.reset();
        fake.seedProject("keel-app", { pgVersion: 15 });
        await assert.rejects(
            quiet(() => p.project.create(projectInputs(PROD))),
            (e: Error) => /exists, but its PostgreSQL is 15, the config says 16/.test(e.message),
        );
        fake.seedProject("keel-app", { pgVersion: 16 });
        await assert.rejects(
            quiet(() => p.project.create(projectInputs(PROD))),
            (e: Error) => /2 Neon projects are named 'keel-app' \(.*\); Keel finds the project by name/.test(e.message),
        );
    });

    it("waits for slow operations before returning", async () => {
        const prod = await quiet(() => deploy(p, PROD));
        fake.operationPolls = 3;
        const branch = await quiet(() => checkAndCreate(p.branch, branchInputs(STAGING, prod.project.id)));
        assert.deepEqual(fake.runningOperations(), [], "create returned before its operation finished");
        // Every operation of the new branch was polled while running, until it read finished.
        const polls = fake.requests.filter((r) => r.path.includes("/operations/") && r.response.operation.branch_id === branch.id);
        const ops = [...new Set(polls.map((r) => r.response.operation.id as string))];
        assert.ok(ops.length >= 1, "no operation of the branch was polled");
        for (const op of ops) {
            assert.deepEqual(
                polls.filter((r) => r.response.operation.id === op).map((r) => r.response.operation.status),
                ["running", "running", "running", "finished"],
            );
        }
    });

    it("retries a branch busy with someone else's operation (423) until it is free", async () => {
        const prod = await quiet(() => deploy(p, PROD));
        // Someone else's operation on the parent, running for two more looks: each refused create is one.
        fake.startOperation(prod.project.id, prod.branch.id, "apply_config", 2);
        const { lines } = await logged(() => checkAndCreate(p.branch, branchInputs(STAGING, prod.project.id)));
        const posts = fake.mutations(/\/branches$/);
        assert.deepEqual(
            posts.map((r) => r.status),
            [423, 423, 201],
            "Neon answered 423 while the parent was busy, then created it",
        );
        assert.equal(fake.state.branches.filter((b) => b.name === "staging").length, 1);
        assert.ok(
            lines.some((l) => /Neon API POST \/projects\/.*\/branches: retrying in \d+ms \(423 Locked\)/.test(l)),
            lines.join("\n"),
        );
    });

    it("rides out injected 429, 423 and 500 answers without creating anything twice", async () => {
        const prod = await quiet(() => deploy(p, PROD));
        fake.inject({ method: "POST", path: /\/branches$/, status: 429, retryAfter: "0", times: 2 });
        fake.inject({ method: "GET", path: /\/branches$/, status: 500, times: 2 });
        fake.inject({ method: "POST", path: /\/endpoints$/, status: 423, times: 1 });
        fake.inject({ method: "POST", path: /\/roles\/app\/reset_password$/, status: 429, retryAfter: "0", times: 1 });
        fake.inject({ method: "GET", path: /\/operations\//, status: 503, times: 1 });
        fake.inject({ method: "POST", path: /\/branches$/, status: 500, times: 1 });
        const { result: staging, lines } = await logged(() => deploy(p, { ...STAGING, schemaOnly: false }));
        const projectId = prod.project.id;
        assert.equal(fake.state.branches.filter((b) => b.project_id === projectId && b.name === "staging").length, 1);
        assert.equal(fake.state.endpoints.filter((e) => e.branch_id === staging.branch.id).length, 1);
        assert.equal(fake.state.roles.filter((r) => r.branch_id === staging.branch.id).length, 1);
        assert.equal(fake.requests.filter((r) => r.injected).length, 8, "every injected answer was met");
        assert.ok(lines.some((l) => /retrying in 0s \(429 Too Many Requests\)/.test(l)));
        assert.ok(
            lines.some((l) => /the response to the create request was lost|looking for it before trying again/.test(l)),
            "a 500 on a POST is checked, not repeated blindly",
        );
    });

    for (const kind of ["project", "branch", "endpoint", "role", "database"] as const) {
        it(`adopts the ${kind} a create made when its response was lost, with no duplicate`, async () => {
            const paths = {
                project: /^\/projects$/,
                branch: /\/branches$/,
                endpoint: /\/endpoints$/,
                role: /\/roles$/,
                database: /\/databases$/,
            };
            // The project and its default branch come with a role and database: staging makes its own endpoint;
            // the role and database are dropped from prod's new project so they are created, not adopted.
            if (kind !== "project") await quiet(() => deploy(p, PROD));
            const projectId = fake.state.projects[0]?.id;
            if (kind === "role" || kind === "database") {
                const main = fake.branch(projectId, "main")!;
                if (kind === "role") fake.state.databases.splice(0);
                for (const key of kind === "role" ? (["roles"] as const) : (["databases"] as const)) {
                    const list = fake.state[key] as { branch_id: string }[];
                    for (let i = list.length - 1; i >= 0; i--) if (list[i].branch_id === main.id) list.splice(i, 1);
                }
            }
            fake.dropResponses("POST", paths[kind]);
            const spec = kind === "project" ? PROD : kind === "branch" || kind === "endpoint" ? STAGING : PROD;
            const { result: d, lines } = await logged(() => deploy(p, spec));
            assert.ok(
                fake.requests.some((r) => r.dropped),
                "a response was dropped",
            );
            assert.ok(
                lines.some((l) => /the response to the create request was lost; looking for it/.test(l)),
                lines.join("\n"),
            );
            assert.ok(
                lines.some((l) => /was created although the response was lost; adopting it/.test(l)),
                lines.join("\n"),
            );
            assert.equal(fake.state.projects.length, 1);
            assert.equal(fake.state.branches.filter((b) => b.name === spec.branch).length, 1);
            assert.equal(fake.state.endpoints.filter((e) => e.branch_id === d.branch.id).length, 1);
            assert.equal(fake.state.roles.filter((r) => r.branch_id === d.branch.id && r.name === "app").length, 1);
            assert.equal(fake.state.databases.filter((x) => x.branch_id === d.branch.id && x.name === "app").length, 1);
            assert.equal(d.role.outs.password, fake.state.roles.find((r) => r.branch_id === d.branch.id)!.password);
            assert.deepEqual(fake.runningOperations(), []);
        });
    }

    it("keeps the password in the role's secret output only: never in another field, another resource, or an id", async () => {
        const prod = await quiet(() => deploy(p, PROD));
        const staging = await quiet(() => deploy(p, STAGING));
        assert.deepEqual(ROLE_SECRET_OUTPUTS, ["password"]);
        for (const d of [prod, staging]) {
            const password = d.role.outs.password;
            assert.match(password, /^npg_/);
            for (const [name, r] of Object.entries(d)) {
                assert.ok(!r.id.includes(password), `${name}'s id`);
                const plain =
                    name === "role" ? Object.fromEntries(Object.entries(r.outs).filter(([k]) => !ROLE_SECRET_OUTPUTS.includes(k))) : r.outs;
                assert.ok(!JSON.stringify(plain).includes(password), `${name}'s plain outputs carry the password`);
            }
        }
    });

    it("prod without protected branches on its plan: warns, carries on, and does not ask again", async () => {
        fake.protectedBranches = false;
        const { result: prod, lines } = await logged(() => deploy(p, PROD));
        assert.deepEqual([prod.branch.outs.protected, prod.branch.outs.protectionRefused], [false, true]);
        assert.ok(
            lines.some((l) =>
                /warning: .*Neon refused to protect branch 'main' .*403 protected branches are not available on your plan.*carrying on without it/.test(
                    l,
                ),
            ),
            lines.join("\n"),
        );
        const diff = await p.branch.diff!(prod.branch.id, prod.branch.outs, branchInputs(PROD, prod.project.id));
        assert.equal(diff.changes, false);
    });

    describe("read reports drift for pulumi refresh", () => {
        let prod: Deployed;
        let staging: Deployed;
        beforeEach(async () => {
            prod = await quiet(() => deploy(p, PROD));
            staging = await quiet(() => deploy(p, STAGING));
        });

        it("nothing changed: the same props and no drift", async () => {
            for (const [k, r] of [
                ["project", prod.project],
                ["branch", staging.branch],
                ["endpoint", staging.endpoint],
                ["role", staging.role],
                ["db", staging.db],
            ] as const) {
                const read: pulumi.dynamic.ReadResult = await quiet(() => (p as any)[k].read(r.id, r.outs));
                assert.equal(read.id, r.id);
                assert.deepEqual(read.props, r.outs, k);
            }
        });

        it("a branch renamed in the console: the real name, then up renames it back", async () => {
            fake.branch(prod.project.id, "staging")!.name = "staging-old";
            const { result: read, lines } = await logged(() => p.branch.read!(staging.branch.id, staging.branch.outs));
            assert.equal(read.props!.name, "staging-old");
            assert.deepEqual(read.props!.drift, ["~ name: 'staging' -> 'staging-old' (renamed outside Keel)"]);
            assert.ok(lines.some((l) => /warning: .*drift in Neon branch 'staging'/.test(l)));
            const diff = await p.branch.diff!(staging.branch.id, read.props!, branchInputs(STAGING, prod.project.id));
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            const updated = await quiet(() => p.branch.update!(staging.branch.id, read.props!, branchInputs(STAGING, prod.project.id)));
            assert.equal(updated.outs!.name, "staging");
            assert.equal(fake.state.branches.find((b) => b.id === staging.branch.id)!.name, "staging");
        });

        it("protection removed from prod's branch: reported, and up protects it again", async () => {
            fake.branch(prod.project.id, "main")!.protected = false;
            const read = await quiet(() => p.branch.read!(prod.branch.id, prod.branch.outs));
            assert.equal(read.props!.protected, false);
            assert.deepEqual(read.props!.drift, ["~ protected: true -> false (protection removed outside Keel)"]);
            const diff = await p.branch.diff!(prod.branch.id, read.props!, branchInputs(PROD, prod.project.id));
            assert.equal(diff.changes, true);
            const updated = await quiet(() => p.branch.update!(prod.branch.id, read.props!, branchInputs(PROD, prod.project.id)));
            assert.equal(updated.outs!.protected, true);
            assert.equal(fake.branch(prod.project.id, "main")!.protected, true);
        });

        it("endpoint settings changed in the console: the real values, then up sets them back", async () => {
            const e = fake.state.endpoints.find((x) => x.id === staging.endpoint.id)!;
            e.autoscaling_limit_max_cu = 4;
            e.suspend_timeout_seconds = -1;
            const read = await quiet(() => p.endpoint.read!(staging.endpoint.id, staging.endpoint.outs));
            assert.deepEqual([read.props!.maxCu, read.props!.suspendTimeoutSeconds], [4, -1]);
            assert.deepEqual(read.props!.drift, ["~ maxCu: 1 -> 4", "~ suspendTimeoutSeconds: 300 -> -1"]);
            const news = endpointInputs(STAGING, prod.project.id, staging.branch.id);
            const diff = await p.endpoint.diff!(staging.endpoint.id, read.props!, news);
            assert.deepEqual([diff.changes, diff.replaces], [true, []]);
            await quiet(() => p.endpoint.update!(staging.endpoint.id, read.props!, news));
            assert.deepEqual([e.autoscaling_limit_max_cu, e.suspend_timeout_seconds], [1, 300]);
        });

        it("a branch deleted in the console: read returns no id, which refresh takes as gone", async () => {
            fake.state.branches.splice(
                fake.state.branches.findIndex((b) => b.id === staging.branch.id),
                1,
            );
            fake.state.endpoints.splice(
                fake.state.endpoints.findIndex((e) => e.id === staging.endpoint.id),
                1,
            );
            const { result: read, lines } = await logged(() => p.branch.read!(staging.branch.id, staging.branch.outs));
            assert.equal(read.id, "");
            assert.ok(lines.some((l) => /warning: .*no longer exists in Neon \(deleted outside Keel\)/.test(l)));
            assert.equal((await quiet(() => p.endpoint.read!(staging.endpoint.id, staging.endpoint.outs))).id, "");
            assert.equal((await quiet(() => p.role.read!(staging.role.id, staging.role.outs))).id, "");
            assert.equal((await quiet(() => p.db.read!(staging.db.id, staging.db.outs))).id, "");
        });

        it("the project renamed, the role's password reset and the database's owner changed outside Keel", async () => {
            fake.state.projects[0].name = "renamed";
            const project = await quiet(() => p.project.read!(prod.project.id, prod.project.outs));
            assert.equal(project.props!.name, "renamed");
            assert.deepEqual(project.props!.drift, ["~ name: 'keel-app' -> 'renamed' (renamed outside Keel)"]);

            const role = fake.state.roles.find((r) => r.branch_id === staging.branch.id)!;
            role.password = "npg_resetInConsole";
            const read = await quiet(() => p.role.read!(staging.role.id, staging.role.outs));
            assert.equal(read.props!.password, "npg_resetInConsole");
            assert.deepEqual(read.props!.drift, ["~ password: changed outside Keel (the connection URLs follow it)"]);

            fake.state.roles.push({ ...role, name: "other", password: "npg_other" });
            fake.state.databases.find((d) => d.branch_id === staging.branch.id)!.owner_name = "other";
            const db = await quiet(() => p.db.read!(staging.db.id, staging.db.outs));
            assert.deepEqual([db.props!.ownerName, db.props!.drift], ["other", ["~ ownerName: 'app' -> 'other'"]]);
        });
    });

    describe("deleting", () => {
        it("refuses to delete prod's project, branch, endpoint, role and database, saying how to do it on purpose", async () => {
            const prod = await quiet(() => deploy(p, PROD));
            for (const [k, r] of Object.entries(prod)) {
                await assert.rejects(
                    quiet(() => (p as any)[k].delete(r.id, r.outs)),
                    (e: Error) => {
                        assert.equal(e.name, "NeonProtectedError");
                        assert.match(
                            e.message,
                            /^Refusing to delete Neon .*: the prod stack protects its Neon database, which holds its data\./,
                        );
                        assert.ok(
                            e.message.includes("npm run pulumi -- config set --path keel:database.neon.allowDelete true --stack prod"),
                            e.message,
                        );
                        assert.ok(e.message.includes("npm run up -- prod"));
                        assert.ok(e.message.includes("npm run destroy -- prod"));
                        assert.ok(e.message.includes("npm run pulumi -- state delete '<urn>' --stack prod"));
                        return true;
                    },
                );
            }
            assert.deepEqual(
                fake.mutations().filter((r) => r.method === "DELETE"),
                [],
            );
            assert.equal(fake.state.projects.length, 1);
        });

        it("with allowDelete, prod's project is deleted (its default branch goes with it)", async () => {
            const prod = await quiet(() => deploy(p, { ...PROD, allowDelete: true }));
            const { lines } = await logged(async () => {
                for (const k of ["db", "role", "endpoint", "branch", "project"] as const)
                    await (p as any)[k].delete(prod[k === "db" ? "db" : k].id, prod[k].outs);
            });
            assert.ok(
                lines.some((l) => /leaving Neon branch 'main' .* in place: it is the project's default branch/.test(l)),
                lines.join("\n"),
            );
            assert.deepEqual(fake.state.projects, []);
        });

        it("staging's destroy deletes its database, role, endpoint and branch, and leaves the project and prod alone", async () => {
            const prod = await quiet(() => deploy(p, PROD));
            fake.state.branches.find((b) => b.id === prod.branch.id)!.protected = true;
            const staging = await quiet(() => deploy(p, { ...STAGING, protected: true }));
            assert.equal(fake.branch(prod.project.id, "staging")!.protected, true);
            const before = fake.requests.length;
            await quiet(async () => {
                for (const k of ["db", "role", "endpoint", "branch", "project"] as const)
                    await (p as any)[k].delete(staging[k].id, staging[k].outs);
            });
            assert.equal(fake.branch(prod.project.id, "staging"), undefined, "the (protected) staging branch is gone");
            assert.equal(fake.state.endpoints.filter((e) => e.branch_id === staging.branch.id).length, 0);
            assert.ok(fake.branch(prod.project.id, "main"));
            assert.equal(fake.state.projects.length, 1);
            assert.deepEqual(fake.runningOperations(), []);
            const deletes = fake.requests
                .slice(before)
                .filter((r) => r.method === "DELETE")
                .map((r) => r.path.replace(/[a-z]+-[a-z]+-[a-z]+-\d+|[a-z]+-[a-z]+-\d+/g, "*"));
            assert.deepEqual(deletes, [
                "/projects/*/branches/*/databases/app",
                "/projects/*/branches/*/roles/app",
                "/projects/*/endpoints/*",
                "/projects/*/branches/*",
            ]);
            // Deleting what is already gone is fine (a retried destroy).
            await quiet(() => p.branch.delete!(staging.branch.id, staging.branch.outs));
            await quiet(() => p.endpoint.delete!(staging.endpoint.id, staging.endpoint.outs));
        });
    });

    describe("deleting a branch with backups", () => {
        it("deletes the stack's backup branches first (Neon deletes only childless branches); a child Keel did not make stops it before anything is deleted", async () => {
            const prod = await quiet(() => deploy(p, PROD));
            const staging = await quiet(() => deploy(p, STAGING));
            const projectId = prod.project.id;
            const target = neonBackupTarget(
                { projectId, branchId: staging.branch.id, branchName: "staging", stack: "staging" },
                { env: process.env },
            );
            const backup = await takeNeonBackup(target, { beforeVersion: "3", schemaVersion: "2", retentionDays: 7 });
            await target.api.createProjectBranch(projectId, { branch: { parent_id: staging.branch.id, name: "alice-experiment" } });
            fake.finishOperations();

            const before = fake.requests.length;
            await assert.rejects(
                quiet(() => p.branch.delete!(staging.branch.id, staging.branch.outs)),
                (e: Error) => {
                    assert.match(e.message, /Neon deletes a branch only without children/);
                    assert.match(e.message, /'alice-experiment' \(br-/);
                    assert.doesNotMatch(e.message, /backup-staging-/, "Keel's own backups are not in the way");
                    return true;
                },
            );
            assert.deepEqual(
                fake.requests.slice(before).filter((r) => r.method !== "GET"),
                [],
                "nothing was deleted",
            );
            assert.ok(fake.state.branches.some((b) => b.id === backup.id));

            const alice = fake.branch(projectId, "alice-experiment")!;
            await target.api.deleteProjectBranch({ projectId, branchId: alice.id });
            fake.finishOperations();
            const { lines } = await logged(() => p.branch.delete!(staging.branch.id, staging.branch.outs));
            assert.equal(fake.branch(projectId, "staging"), undefined, "the staging branch is gone");
            assert.equal(
                fake.state.branches.some((b) => b.id === backup.id),
                false,
                "with its backup",
            );
            assert.ok(
                lines.some((l) => l.includes(`deleting backup '${backup.location.slice(projectId.length + 1)}' (${backup.id})`)),
                lines.join("\n"),
            );
            assert.ok(fake.branch(projectId, "main"), "prod's branch stays");
        });
    });

    describe("diff and check", () => {
        it("replaces a branch whose parent or schemaOnly changed, deleting first (create adopts by name); renames in place", async () => {
            const olds = { ...branchInputs(STAGING, "p-1"), branchId: "br-1", isDefault: false, protectionRefused: false, drift: [] };
            const parent = await p.branch.diff!("br-1", olds, { ...branchInputs(STAGING, "p-1"), parent: "other" });
            assert.deepEqual([parent.changes, parent.replaces, parent.deleteBeforeReplace], [true, ["parent"], true]);
            const schema = await p.branch.diff!("br-1", olds, { ...branchInputs(STAGING, "p-1"), schemaOnly: false });
            assert.deepEqual(schema.replaces, ["schemaOnly"]);
            const rename = await p.branch.diff!("br-1", olds, { ...branchInputs(STAGING, "p-1"), name: "stage" });
            assert.deepEqual([rename.changes, rename.replaces], [true, []]);
            const same = await p.branch.diff!("br-1", olds, branchInputs(STAGING, "p-1"));
            assert.equal(same.changes, false);
            const preview = await p.branch.diff!("br-1", olds, { ...branchInputs(STAGING, "p-1"), projectId: UNKNOWN });
            assert.deepEqual([preview.changes, preview.replaces], [true, []], "an id unknown at preview is not a replacement");
        });

        it("updates endpoint settings in place and replaces the endpoint of another branch", async () => {
            const olds = { ...endpointInputs(STAGING, "p-1", "br-1"), endpointId: "ep-1", host: "h", poolerHost: "h", drift: [] };
            const size = await p.endpoint.diff!("ep-1", olds, { ...endpointInputs(STAGING, "p-1", "br-1"), maxCu: 2 });
            assert.deepEqual([size.changes, size.replaces], [true, []]);
            const moved = await p.endpoint.diff!("ep-1", olds, endpointInputs(STAGING, "p-1", "br-2"));
            assert.deepEqual([moved.replaces, moved.deleteBeforeReplace], [["branchId"], true]);
        });

        it("a project another stack owns is another project under another name", async () => {
            const olds = { ...projectInputs(STAGING), projectId: "p-1", defaultBranchId: "br-1", drift: [] };
            const renamed = await p.project.diff!("p-1", olds, { ...projectInputs(STAGING), name: "other" });
            assert.deepEqual(renamed.replaces, ["name"]);
            const owned = await p.project.diff!("p-1", { ...olds, ...projectInputs(PROD) }, { ...projectInputs(PROD), name: "other" });
            assert.deepEqual([owned.changes, owned.replaces], [true, []], "the owner renames it in place");
        });

        it("check refuses what Neon would refuse, before anything is sent", async () => {
            const bad = async <I, O>(prov: P<I, O>, inputs: I) =>
                ((await prov.check!({} as I, inputs)).failures ?? []).map((f) => f.property);
            assert.deepEqual(await bad(p.branch, { ...branchInputs(PROD, "p"), schemaOnly: true }), ["schemaOnly"]);
            assert.deepEqual(await bad(p.branch, { ...branchInputs(STAGING, "p"), parent: "staging" }), ["parent"]);
            assert.deepEqual(await bad(p.endpoint, { ...endpointInputs(STAGING, "p", "b"), minCu: 1, maxCu: 0.5 }), ["maxCu"]);
            assert.deepEqual(await bad(p.endpoint, { ...endpointInputs(STAGING, "p", "b"), suspendTimeoutSeconds: 30 }), [
                "suspendTimeoutSeconds",
            ]);
            assert.deepEqual(await bad(p.project, { ...projectInputs(PROD), pgVersion: 13 }), ["pgVersion"]);
            assert.deepEqual(
                await bad(p.role, { projectId: "p", branchId: "b", name: "App", resetPasswordOnAdopt: false, ...common(PROD) }),
                ["name"],
            );
            assert.deepEqual(fake.requests, []);
        });
    });

    describe("credentials", () => {
        it("uses keel:neonApiKey from the provider's configure() when NEON_API_KEY is unset, and the original stays unconfigured", async () => {
            const restore = setNeonEnv({ NEON_API_KEY: undefined, NEON_API_URL: undefined });
            try {
                const s = await serializedProvider(neonProjectProvider);
                const config = { neonApiKey: fake.apiKey, neonApiUrl: fake.url } as Record<string, string>;
                await s.provider.configure!({ config: { get: (k: string) => config[k], require: (k: string) => config[k] } });
                const created = await quiet(() => s.provider.create(projectInputs(PROD)));
                assert.equal(created.id, fake.state.projects[0].id);
                assert.ok(fake.requests.every((r) => r.authorization === `Bearer ${fake.apiKey}`));
                // The key stays in the provider's process: the serialized stand-in never holds it.
                assert.ok(!s.text.includes(fake.apiKey));
                await unconfigure(s.provider);
            } finally {
                restore();
            }
        });

        it("without a key anywhere, fails saying exactly how to set one", async () => {
            const restore = setNeonEnv({ NEON_API_KEY: undefined });
            try {
                const s = await serializedProvider(neonBranchProvider);
                await assert.rejects(
                    quiet(() => s.provider.create(branchInputs(STAGING, "p-1"))),
                    (e: Error) => {
                        assert.equal(e.name, "NeonCredentialsError");
                        assert.ok(e.message.includes("export NEON_API_KEY=..."));
                        assert.ok(e.message.includes("npm run pulumi -- config set --secret keel:neonApiKey ..."));
                        return true;
                    },
                );
                assert.deepEqual(fake.requests, []);
            } finally {
                restore();
            }
        });
    });
});
