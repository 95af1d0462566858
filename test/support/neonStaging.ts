/**
 * The Neon project a staging stack branches off, on the fake Neon API: the
 * owner's project `shop` (branch main, role and database app) with a branch
 * `staging` off main that has its own compute, as deploying staging leaves it.
 * The fake's request log starts empty after it.
 */
import { Api, neonClient, NeonClientOptions, waitForOperations } from "../../components/vendors/neon";
import type { FakeBranch, FakeNeon, FakeProject } from "./fakeNeon";

export interface NeonStaging {
    api: Api;
    project: FakeProject;
    main: FakeBranch;
    staging: FakeBranch;
}

export async function neonStaging(fake: FakeNeon, client: Partial<NeonClientOptions> = {}): Promise<NeonStaging> {
    fake.reset();
    const project = fake.seedProject("shop", { branchName: "main", roleName: "app", databaseName: "app" });
    const api = neonClient({ apiKey: fake.apiKey, baseUrl: fake.url, ...client });
    const main = fake.branch(project.id, "main")!;
    const { data } = await api.createProjectBranch(project.id, {
        branch: { parent_id: main.id, name: "staging" },
        endpoints: [{ type: "read_write" as never }],
    });
    await waitForOperations(api, project.id, data.operations);
    fake.requests.splice(0);
    return { api, project, main, staging: fake.branch(project.id, "staging")! };
}
