/**
 * Spec conformance: a whole life of a prod and a staging stack (create,
 * adopt, drift, restore, connection URIs, destroy, errors) runs against the
 * fake Neon API, then every response the fake sent is validated against the
 * response schema of its operation in shared/specs/neon.openapi.json, and
 * every request body the client sent against the operation's request schema.
 * OpenAPI 3.0 `nullable` is understood by Ajv 8; formats are checked for
 * date-time and uuid.
 */
import { strict as assert } from "assert";
import { executeNeonRestore, listNeonBackups, neonDrill, planNeonRestore, takeNeonBackup } from "../../components/backup/neon";
import { neonBranchProvider } from "../../components/database/neon/branch";
import { neonBranchDatabaseProvider } from "../../components/database/neon/database";
import { neonEndpointProvider } from "../../components/database/neon/endpoint";
import { neonProjectProvider } from "../../components/database/neon/project";
import { neonRoleProvider } from "../../components/database/neon/role";
import { Api, IDEMPOTENT, neonClient, waitForOperations } from "../../components/vendors/neon";
import { FakeNeon, LoggedRequest, setNeonEnv } from "../support/fakeNeon";
import { DATE_TIME, loadSpec, OpenApiSpec, UUID } from "../support/openapi";
import { captureConsole } from "../support/serializedProvider";

const quiet = <T>(fn: () => Promise<T>): Promise<T> => captureConsole(fn).then((r) => r.result);

describe("Neon API spec conformance (fake and client against neon.openapi.json)", function () {
    let fake: FakeNeon;
    let index: OpenApiSpec;
    let restoreEnv: (() => void) | undefined;

    before(async function () {
        const spec = await loadSpec(this, "neon.openapi.json");
        const unchecked = { int32: true, int64: true, uint64: true, double: true, int: true, email: true, uri: true } as const;
        index = new OpenApiSpec(spec, { formats: { "date-time": DATE_TIME, uuid: UUID, ...unchecked } });
        fake = await FakeNeon.start({ operationPolls: 0 });
        restoreEnv = setNeonEnv({ NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url });
    });

    after(async () => {
        restoreEnv?.();
        await fake?.stop();
    });

    it("maps concrete paths to the spec's templates, literals first", () => {
        assert.equal(index.template("/projects/p-1/branches/count"), "/projects/{project_id}/branches/count");
        assert.equal(index.template("/projects/p-1/branches/br-1"), "/projects/{project_id}/branches/{branch_id}");
        assert.equal(index.template("/projects/shared"), "/projects/shared");
        assert.equal(index.template("/nowhere/at/all/x/y/z/w"), undefined);
        // The validator itself rejects a wrong shape.
        const branch = index.responseSchema("GET", "/projects/{project_id}/branches/{branch_id}", 200).at!;
        assert.notDeepEqual(index.validate(branch, { branch: { id: "br-1" } }), []);
    });

    it("every response of the fake and every request body of the client match the spec", async () => {
        const api: Api = neonClient({ apiKey: fake.apiKey, baseUrl: fake.url, policy: { baseDelayMs: 10 } });
        const common = { protect: false, allowDelete: true };
        await quiet(async () => {
            // prod: project, default branch, endpoint, role, database.
            const project = await neonProjectProvider.create({
                name: "keel-app",
                owned: true,
                regionId: "aws-us-east-2",
                pgVersion: 16,
                defaultBranchName: "main",
                roleName: "app",
                databaseName: "app",
                stack: "prod",
                ...common,
            });
            const projectId = project.id;
            const main = await neonBranchProvider.create({
                projectId,
                name: "main",
                protected: true,
                schemaOnly: false,
                stack: "prod",
                ...common,
            });
            const mainEp = await neonEndpointProvider.create({
                projectId,
                branchId: main.id,
                minCu: 0.25,
                maxCu: 2,
                suspendTimeoutSeconds: -1,
                stack: "prod",
                ...common,
            });
            await neonRoleProvider.create({
                projectId,
                branchId: main.id,
                name: "app",
                resetPasswordOnAdopt: false,
                stack: "prod",
                ...common,
            });
            await neonBranchDatabaseProvider.create({
                projectId,
                branchId: main.id,
                name: "app",
                ownerName: "app",
                stack: "prod",
                ...common,
            });
            // staging: lookup, schema-only child, new endpoint, inherited role with a new password, a second database.
            await neonProjectProvider.create({
                name: "keel-app",
                owned: false,
                regionId: "aws-us-east-2",
                pgVersion: 16,
                stack: "staging",
                ...common,
            });
            const staging = await neonBranchProvider.create({
                projectId,
                name: "staging",
                parent: "main",
                protected: false,
                schemaOnly: true,
                stack: "staging",
                ...common,
            });
            const ep = await neonEndpointProvider.create({
                projectId,
                branchId: staging.id,
                minCu: 0.25,
                maxCu: 1,
                suspendTimeoutSeconds: 300,
                stack: "staging",
                ...common,
            });
            const role = await neonRoleProvider.create({
                projectId,
                branchId: staging.id,
                name: "app",
                resetPasswordOnAdopt: true,
                stack: "staging",
                ...common,
            });
            await neonRoleProvider.create({
                projectId,
                branchId: staging.id,
                name: "reporting",
                resetPasswordOnAdopt: true,
                stack: "staging",
                ...common,
            });
            const db = await neonBranchDatabaseProvider.create({
                projectId,
                branchId: staging.id,
                name: "analytics",
                ownerName: "app",
                stack: "staging",
                ...common,
            });
            // refresh, drift and its repair.
            for (const [prov, r] of [
                [neonProjectProvider, project],
                [neonBranchProvider, staging],
                [neonEndpointProvider, ep],
                [neonRoleProvider, role],
                [neonBranchDatabaseProvider, db],
            ] as const) {
                await (prov as any).read(r.id, r.outs);
            }
            await neonBranchProvider.update!(staging.id, staging.outs!, { ...staging.outs!, name: "stage" });
            await neonEndpointProvider.update!(ep.id, ep.outs!, { ...ep.outs!, maxCu: 2 });
            await neonBranchDatabaseProvider.update!(db.id, db.outs!, { ...db.outs!, ownerName: "reporting", name: "analytics2" });
            await neonProjectProvider.update!(projectId, project.outs!, { ...project.outs!, name: "keel-app-2" });
            // What db:reset and the app need: restore, connection URIs, passwords, the operations list.
            // Their operations read running once, then finished: both answers are checked against the spec.
            fake.operationPolls = 1;
            const restored = await api.restoreProjectBranch(projectId, staging.id, {
                source_branch_id: main.id,
                preserve_under_name: "stage-before-reset",
            });
            for (const op of restored.data.operations) await api.getProjectOperation(projectId, op.id);
            await waitForOperations(api, projectId, restored.data.operations, { pollMs: 10 });
            fake.operationPolls = 0;
            await api.getConnectionUri({ projectId, branch_id: staging.id, database_name: "app", role_name: "app" });
            await api.getConnectionUri({
                projectId,
                branch_id: staging.id,
                endpoint_id: ep.id,
                database_name: "app",
                role_name: "app",
                pooled: true,
            });
            await api.getProjectBranchRolePassword(projectId, staging.id, "app");
            const reset = await api.resetProjectBranchRolePassword(projectId, staging.id, "app", IDEMPOTENT);
            await api.listProjectOperations({ projectId, limit: 20 });
            await api.listProjectEndpoints(projectId);
            await api.listProjectBranches({ projectId });
            await waitForOperations(api, projectId, reset.data.operations, { pollMs: 10 });
            // Neon backups (components/backup/neon.ts): a snapshot branch with expires_at and annotations,
            // the list with annotations, a preserving restore from it, and a drill's scratch branch.
            const target = { api, projectId, branchId: staging.id, branchName: "stage", stack: "staging", wait: { pollMs: 10 } };
            const backup = await takeNeonBackup(target, { beforeVersion: "0002", schemaVersion: "0001", retentionDays: 7 });
            await api.getProjectBranch(projectId, backup.id);
            await listNeonBackups(target);
            await executeNeonRestore(target, await planNeonRestore(target, backup.id));
            await neonDrill(target, {
                databaseName: "app",
                roleName: "app",
                schemaVersion: "0001",
                compare: async () => ({ passed: true, fingerprint: { source: "x", copy: "x" }, tables: [], findings: [] }),
            });
            // Errors: 404, 423, 429, 500 (retried), and 204 for what is already gone.
            await api.getProjectBranch(projectId, "br-missing-000000").catch(() => undefined);
            fake.inject({ method: "GET", path: /\/endpoints$/, status: 429, retryAfter: "0" });
            fake.inject({ method: "GET", path: /\/endpoints$/, status: 423 });
            fake.inject({ method: "GET", path: /\/endpoints$/, status: 500 });
            await api.listProjectEndpoints(projectId);
            // destroy staging, then prod (allowDelete).
            await neonBranchDatabaseProvider.delete!(db.id, { ...db.outs!, name: "analytics2" });
            await neonRoleProvider.delete!(role.id, role.outs!);
            await neonEndpointProvider.delete!(ep.id, ep.outs!);
            await neonBranchProvider.delete!(staging.id, staging.outs!).catch(() => undefined); // it has a child (the preserved branch)
            await api.deleteProjectEndpoint(projectId, "ep-gone-000000");
            await api.deleteProjectBranchRole(projectId, main.id, "nobody");
            await neonEndpointProvider.delete!(mainEp.id, mainEp.outs!);
            await neonProjectProvider.delete!(projectId, project.outs!);
        });

        const problems: string[] = [];
        const seen = new Set<string>();
        const check = (r: LoggedRequest) => {
            const template = index.template(r.path);
            if (!template || !index.operation(r.method, template)) {
                problems.push(`${r.method} ${r.path}: no such operation in the spec`);
                return;
            }
            const op = index.operation(r.method, template)!;
            seen.add(op.operationId);
            const label = `${r.method} ${template} (${op.operationId}) -> ${r.status}`;
            if (r.body !== undefined) {
                const at = index.requestSchema(r.method, template);
                if (!at) problems.push(`${label}: the client sent a body the spec does not declare`);
                else problems.push(...index.validate(at, r.body).map((e) => `${label} request: ${e}`));
            }
            if (r.dropped) return;
            const response = index.responseSchema(r.method, template, r.status!);
            if (!response.declared) problems.push(`${label}: status not in the spec`);
            else if (response.at) problems.push(...index.validate(response.at, r.response).map((e) => `${label} response: ${e}`));
            else if (r.response !== undefined) problems.push(`${label}: a body where the spec declares none`);
        };
        fake.requests.forEach(check);
        assert.deepEqual(problems, []);

        const needed = [
            "listProjects",
            "createProject",
            "getProject",
            "updateProject",
            "deleteProject",
            "listProjectBranches",
            "createProjectBranch",
            "getProjectBranch",
            "updateProjectBranch",
            "deleteProjectBranch",
            "restoreProjectBranch",
            "listProjectBranchEndpoints",
            "createProjectEndpoint",
            "getProjectEndpoint",
            "updateProjectEndpoint",
            "deleteProjectEndpoint",
            "listProjectEndpoints",
            "listProjectBranchRoles",
            "createProjectBranchRole",
            "getProjectBranchRole",
            "deleteProjectBranchRole",
            "getProjectBranchRolePassword",
            "resetProjectBranchRolePassword",
            "listProjectBranchDatabases",
            "createProjectBranchDatabase",
            "getProjectBranchDatabase",
            "updateProjectBranchDatabase",
            "deleteProjectBranchDatabase",
            "getProjectOperation",
            "listProjectOperations",
            "getConnectionURI",
        ];
        assert.deepEqual(
            needed.filter((id) => !seen.has(id)),
            [],
            "operations the scenario did not exercise",
        );
        const statuses = new Set(fake.requests.map((r) => r.status));
        for (const s of [200, 201, 204, 404, 423, 429, 500]) assert.ok(statuses.has(s), `no ${s} answer was checked`);
    });
});
