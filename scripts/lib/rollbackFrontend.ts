/**
 * The frontend's part of a rollback: the Vercel production deployment that was
 * live when the target's update ended, checked (read only) before anything is
 * touched, and promoted back after the backend is healthy. Hobby projects can
 * only go back to the previous production deployment: the check says so.
 */
import { applyFrontendRollback, checkFrontendRollback, FrontendRollbackCheck, vercelClient } from "../../components/vendors/vercel";
import type { FrontendStep } from "./rollbackPlan";

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
