/**
 * The frontend's part of a rollback (the façade `npm run rollback` calls): the
 * Vercel production deployment that was live when the target's update ended,
 * checked (read only) before anything is touched, and promoted back after the
 * backend is healthy. Hobby projects can only go back to the previous
 * production deployment: the check says so. Pure of Pulumi: the command runs
 * it outside the engine.
 */
import { applyFrontendRollback, checkFrontendRollback, FrontendRollbackCheck, vercelClient } from "../vendors/vercel";
import { liveProductionAt } from "../vendors/vercelDeployments";

/** What a rollback does to the frontend, as its plan prints it. */
export interface FrontendStep {
    kind: "none" | "promote" | "refused" | "absent";
    deploymentId?: string;
    /** What the plan says of it. */
    line: string;
}

/** What the frontend column reads of a deploy (scripts/lib/stackHistory.ts's Deploy has it). */
export interface DeployedFrontend {
    version: number;
    startTime: Date;
    endTime?: Date;
    /** The stack outputs after the update; `frontendProjectId` names its Vercel project. */
    outputs: Record<string, unknown>;
}

export interface FrontendRollback {
    step: FrontendStep;
    /** Promotes the deployment the step names (nothing for none/absent/refused). */
    apply(): Promise<void>;
}

export interface FrontendRollbackOptions {
    /** The target's Vercel project (its frontendProjectId output); undefined when the stack has no frontend. */
    projectId?: string;
    /** When the target's update ended: the deployment live then is the one to go back to. */
    time: Date;
    /** The Vercel token: VERCEL_API_TOKEN, else the stack's keel:vercelApiToken. */
    token?: string;
    env: Record<string, string | undefined>;
    say: (line: string) => void;
}

export async function planFrontendRollback(o: FrontendRollbackOptions): Promise<FrontendRollback> {
    const nothing = async () => undefined;
    if (!o.projectId) return { step: { kind: "absent", line: "the stack has no frontend (keel:frontend); nothing to do" }, apply: nothing };
    if (!o.token && !o.env.VERCEL_API_TOKEN) {
        return {
            step: {
                kind: "refused",
                line: `the Vercel project ${o.projectId} cannot be checked: export VERCEL_API_TOKEN (or set keel:vercelApiToken)`,
            },
            apply: nothing,
        };
    }
    const client = () => vercelClient({ env: o.env, ...(o.token ? { token: o.token } : {}), onProgress: o.say, onWarn: o.say });
    const check: FrontendRollbackCheck = await checkFrontendRollback(client(), o.projectId, o.time);
    const plan = check.plan;
    if (plan.kind === "refused") return { step: { kind: "refused", line: `Vercel: ${plan.reason}` }, apply: nothing };
    if (plan.kind === "none") {
        return {
            step: {
                kind: "none",
                deploymentId: plan.deployment.uid,
                line: `Vercel production stays on ${plan.deployment.uid} (live then and now)`,
            },
            apply: nothing,
        };
    }
    return {
        step: {
            kind: "promote",
            deploymentId: plan.deployment.uid,
            line: `Vercel production ${plan.from ?? "now"} -> ${plan.deployment.uid} (live at ${o.time.toISOString()}), through Vercel's rollback`,
        },
        apply: async () => {
            await applyFrontendRollback(client(), check.project.id, plan);
            o.say(`Vercel production is on ${plan.deployment.uid} again`);
        },
    };
}

/**
 * The list's frontend column: per deploy with a Vercel project, the production
 * deployment live when its update ended. Empty when no deploy has a frontend,
 * or (with a reason) when Vercel cannot be asked.
 */
export async function frontendColumn(
    deploys: DeployedFrontend[],
    o: { token?: string; env: Record<string, string | undefined>; say: (line: string) => void },
): Promise<Record<number, string>> {
    const projects = new Set(deploys.map((d) => d.outputs.frontendProjectId).filter((p): p is string => typeof p === "string" && p !== ""));
    if (!projects.size) return {};
    if (!o.token && !o.env.VERCEL_API_TOKEN) {
        o.say("(the frontend column needs VERCEL_API_TOKEN or the stack's keel:vercelApiToken)");
        return {};
    }
    const client = vercelClient({ env: o.env, ...(o.token ? { token: o.token } : {}), onProgress: o.say, onWarn: o.say });
    const byProject = new Map<string, Awaited<ReturnType<typeof client.listProductionDeployments>>>();
    for (const p of projects) byProject.set(p, await client.listProductionDeployments(p));
    const column: Record<number, string> = {};
    for (const d of deploys) {
        const project = d.outputs.frontendProjectId;
        if (typeof project !== "string" || !byProject.has(project)) continue;
        const live = liveProductionAt(byProject.get(project)!, d.endTime ?? d.startTime);
        if (live) column[d.version] = live.uid;
    }
    return column;
}
