/**
 * prod-backend-safe-deploys: prod's backend has a health check, at least two
 * instances, and (Fly) a rollout that replaces machines one at a time or side by side.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { field, isUnknown, PROD_ONLY, raw, report, stageFromUrn, stackName, Violation } from "../support";

export const FLY_MACHINES = "pulumi-nodejs:dynamic/keel:FlyMachines";
export const RENDER_SERVICE = "pulumi-nodejs:dynamic/keel:RenderService";
export const SAFE_STRATEGIES = ["rolling", "bluegreen"];

/** Problems of FlyMachines inputs (FlyMachinesInputs); each with its fix. */
export function flyProblems(props: Record<string, any>, stack: string): string[] {
    const problems: string[] = [];
    const path = field(props, "healthCheck", "path");
    if (typeof path !== "string" || !path.trim()) {
        problems.push(`no health check path (fix: pulumi config set --path keel:backend.healthCheck.path /healthz --stack ${stack})`);
    }
    const regions = field<unknown[]>(props, "regions");
    if (!isUnknown(props.regions)) {
        const total = Array.isArray(regions) ? regions.reduce<number>((n, _r, i) => n + (Number(field(regions, i, "count")) || 0), 0) : 0;
        if (total < 2) problems.push(`${total} machine(s) in total, at least 2 needed (fix: pulumi config set --path keel:backend.fly.regions[0].count 2 --stack ${stack})`);
    }
    const strategy = field(props, "strategy");
    if (!SAFE_STRATEGIES.includes(String(strategy))) {
        problems.push(`rollout strategy ${JSON.stringify(strategy ?? null)} (fix: pulumi config set --path keel:backend.fly.strategy rolling --stack ${stack}, or bluegreen)`);
    }
    return problems;
}

/** Problems of RenderService inputs (RenderServiceInputs); each with its fix. */
export function renderProblems(props: Record<string, any>, stack: string): string[] {
    const problems: string[] = [];
    const path = field(props, "healthCheckPath");
    if (typeof path !== "string" || !path.trim()) {
        problems.push(`no health check path (fix: pulumi config set --path keel:backend.healthCheck.path /healthz --stack ${stack})`);
    }
    const instances = field(props, "numInstances");
    if (!isUnknown(props.numInstances) && !(Number(instances) >= 2)) {
        problems.push(`${JSON.stringify(instances ?? null)} instance(s), at least 2 needed (fix: pulumi config set --path keel:backend.render.instances 2 --stack ${stack})`);
    }
    return problems;
}

export function checkProdBackendSafeDeploys(args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">): Violation[] {
    if (args.type !== FLY_MACHINES && args.type !== RENDER_SERVICE) return [];
    const level = PROD_ONLY[stageFromUrn(args.urn)];
    if (!level) return [];
    const stack = stackName(args.urn);
    const props = raw(args.props);
    const problems = args.type === FLY_MACHINES ? flyProblems(props, stack) : renderProblems(props, stack);
    const kind = args.type === FLY_MACHINES ? "Fly machines" : "Render service";
    return problems.map((p) => ({ urn: args.urn, enforcementLevel: level, message: `${kind} '${args.name}' in prod: ${p}.` }));
}

export const prodBackendSafeDeploys: ResourceValidationPolicy = {
    name: "prod-backend-safe-deploys",
    description: "Prod's backend has a health check path, at least 2 instances and (Fly) a rolling or blue-green rollout.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkProdBackendSafeDeploys(args)) report(reportViolation, v);
    },
};
