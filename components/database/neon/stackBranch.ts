/**
 * A Neon stack's project and branch found by the names in its stack file, for
 * what runs without the stack's state (where the ids live): the operator
 * commands (db:*, db:reset, rollback) and the reset of a branch from its parent.
 */
import type { Branch } from "@neondatabase/api-client";
import type { NeonDatabaseConfig } from "../../config";
import { KeelError } from "../../errors";
import type { Api } from "../../vendors/neon";
import { findBranch, findProjects } from "./common";

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
