/** A Neon client and the stack's branch as a backup target, for operator scripts (db:*, db:reset, rollback). */
import type { NeonBackupTarget } from "../../components/backup/neon";
import type { KeelConfig, NeonDatabaseConfig } from "../../components/config";
import { findNeonProject, findStackBranch, NeonStackError } from "../../components/database/neon/stackBranch";
import { Api, neonClient, resolveNeonCredentials } from "../../components/vendors/neon";

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
