/**
 * The frontend's part of a rollback, on the Vercel client: read what a
 * rollback to a time needs and plan it (nothing written), then carry the plan
 * out with a confirmed instant rollback.
 */
import { projectDeploymentTimes, RollbackOptions, VercelClient, VercelDeployment, VercelProject, VercelRollbackError } from "./vercel";
import { frontendRollbackPlan, FrontendRollbackPlan } from "./vercelDeployments";

export interface FrontendRollbackCheck {
    project: VercelProject;
    /** READY production deployments, newest first. */
    deployments: VercelDeployment[];
    /** The ones Vercel offers to roll back to. */
    candidates: VercelDeployment[];
    plan: FrontendRollbackPlan<VercelDeployment>;
}

/**
 * Reads (never writes) what a rollback of the frontend to `time` needs: the
 * project (which deployment serves production, on which plan), its production
 * deployments and its rollback candidates; and plans it (frontendRollbackPlan).
 * A refused plan's reason is the message to show; nothing has been touched.
 */
export async function checkFrontendRollback(
    client: VercelClient,
    projectIdOrName: string,
    time: number | Date,
): Promise<FrontendRollbackCheck> {
    const project = await client.getProject(projectIdOrName);
    const deployments = await client.listProductionDeployments(project.id);
    const candidates = await client.listProductionDeployments(project.id, { rollbackCandidate: true });
    const current = project.targets?.production ?? undefined;
    const plan = frontendRollbackPlan({
        deployments,
        candidates,
        current: current ? projectDeploymentTimes(current) : undefined,
        time,
        plan: current?.plan,
    });
    return { project, deployments, candidates, plan };
}

/**
 * Carries out a plan from checkFrontendRollback: nothing for `none`, a
 * confirmed rollback for `promote`; a `refused` plan throws its reason (a
 * VercelRollbackError) without touching anything.
 */
export async function applyFrontendRollback(
    client: VercelClient,
    projectId: string,
    plan: FrontendRollbackPlan,
    options: RollbackOptions = {},
): Promise<VercelProject | undefined> {
    if (plan.kind === "refused") throw new VercelRollbackError(plan.reason);
    if (plan.kind === "none") return undefined;
    return client.rollback(projectId, plan.deployment.uid, options);
}
