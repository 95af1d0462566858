/** Finds a Neon stack's project and branch by the names in its config, for operator scripts (db:*, db:reset, rollback). */
import type { Branch } from "@neondatabase/api-client";
import type { NeonBackupTarget } from "../../components/backup/neon";
import type { KeelConfig, NeonDatabaseConfig } from "../../components/config";
import { findBranch, findProjects } from "../../components/database/neon/common";
import { KeelError } from "../../components/errors";
import { Api, neonClient, resolveNeonCredentials } from "../../components/vendors/neon";

export class NeonStackError extends KeelError {
    constructor(message: string) {
        super(message, "NeonStackError");
    }
}

/** The id of the one project with the configured name. */
export async function findNeonProject(api: Api, c: NeonDatabaseConfig): Promise<string> {
    const projects = await findProjects(api, c.project.name, c.project.orgId);
    if (projects.length !== 1) {
        throw new NeonStackError(
            projects.length === 0
                ? `No Neon project named '${c.project.name}': deploy the owner stack ('${c.project.ownedBy}') first.`
                : `${projects.length} Neon projects are named '${c.project.name}'; Keel finds the project by name, so rename the extra ones.`,
        );
    }
    return projects[0].id;
}

/** The stack's own branch; missing means the stack was never deployed. */
export async function findStackBranch(api: Api, projectId: string, c: NeonDatabaseConfig, stack: string): Promise<Branch> {
    const branch = await findBranch(api, projectId, c.branch.name);
    if (!branch)
        throw new NeonStackError(`Neon project '${c.project.name}' has no branch '${c.branch.name}': run 'npm run up -- ${stack}' first.`);
    return branch;
}

/**
 * A Neon client for an operator script. The key comes from NEON_API_KEY only:
 * a keel:neonApiKey in the stack file is encrypted, which a script that runs
 * without the engine cannot read, and the error says so (rather than that no
 * key is set). NEON_API_URL points it at a proxy or a fake.
 */
export function scriptNeonClient(stack: string, env: Record<string, string | undefined>, onProgress?: (line: string) => void): Api {
    if (!env.NEON_API_KEY) {
        throw new NeonStackError(
            `Stack '${stack}' is on Neon and this command needs a Neon API key: export NEON_API_KEY=... ` +
                `(a keel:neonApiKey in the stack file is encrypted, which this script cannot read).`,
        );
    }
    const credentials = resolveNeonCredentials({ env, configApiUrl: env.NEON_API_URL });
    return neonClient({ apiKey: credentials.apiKey, baseUrl: credentials.baseUrl, ...(onProgress ? { onProgress } : {}) });
}

/** The stack's Neon branch, found by name (the stack file names the project and branch; ids live in the state). */
export async function neonTarget(
    io: { env: Record<string, string | undefined>; out(line: string): void },
    config: KeelConfig,
    c: NeonDatabaseConfig,
): Promise<NeonBackupTarget> {
    const api = scriptNeonClient(config.stack, io.env, io.out);
    const projectId = await findNeonProject(api, c);
    const branch = await findStackBranch(api, projectId, c, config.stack);
    return { api, projectId, branchId: branch.id, branchName: branch.name, stack: config.stack, wait: { onProgress: io.out } };
}
