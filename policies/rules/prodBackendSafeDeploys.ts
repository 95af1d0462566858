/**
 * prod-backend-safe-deploys: prod's backend has a health check, at least two
 * instances, and (Fly) a rollout that replaces machines one at a time or side by side.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { FlyMachines } from "../../components/backend/fly/machines";
import { RenderService } from "../../components/backend/render/service";
import { field, isUnknown, PROD_ONLY, raw, HOW_IT_WORKS, report, stackName, stageOf, Violation } from "../support";

/** The resource types this rule reads. */
export const RESOURCE_TYPES = [FlyMachines.__pulumiType, RenderService.__pulumiType];

/** The rule's settings (policy config): how many instances and which rollouts prod needs. */
export interface SafeDeploySettings {
    minInstances: number;
    strategies: string[];
}

export const DEFAULT_SETTINGS: SafeDeploySettings = { minInstances: 2, strategies: ["rolling", "bluegreen"] };

/** Problems of FlyMachines inputs (FlyMachinesInputs); each with its fix. */
export function flyProblems(props: Record<string, any>, stack: string, settings: SafeDeploySettings = DEFAULT_SETTINGS): string[] {
    const problems: string[] = [];
    const path = field(props, "healthCheck", "path");
    if (typeof path !== "string" || !path.trim()) {
        problems.push(
            `no health check path (fix: npm run pulumi -- config set --path keel:backend.healthCheck.path /healthz --stack ${stack})`,
        );
    }
    const regions = field<unknown[]>(props, "regions");
    if (!isUnknown(props.regions)) {
        const total = Array.isArray(regions) ? regions.reduce<number>((n, _r, i) => n + (Number(field(regions, i, "count")) || 0), 0) : 0;
        if (total < settings.minInstances) {
            problems.push(
                `${total} machine(s) in total, at least ${settings.minInstances} needed (fix: npm run pulumi -- config set --path keel:backend.fly.regions[0].count ${settings.minInstances} --stack ${stack})`,
            );
        }
    }
    const strategy = field(props, "strategy");
    if (!settings.strategies.includes(String(strategy))) {
        problems.push(
            `rollout strategy ${JSON.stringify(strategy ?? null)} (fix: npm run pulumi -- config set --path keel:backend.fly.strategy ${settings.strategies[0]} --stack ${stack}${settings.strategies
                .slice(1)
                .map((x) => `, or ${x}`)
                .join("")})`,
        );
    }
    return problems;
}

/** Problems of RenderService inputs (RenderServiceInputs); each with its fix. */
export function renderProblems(props: Record<string, any>, stack: string, settings: SafeDeploySettings = DEFAULT_SETTINGS): string[] {
    const problems: string[] = [];
    const path = field(props, "healthCheckPath");
    if (typeof path !== "string" || !path.trim()) {
        problems.push(
            `no health check path (fix: npm run pulumi -- config set --path keel:backend.healthCheck.path /healthz --stack ${stack})`,
        );
    }
    const instances = field(props, "numInstances");
    if (!isUnknown(props.numInstances) && !(Number(instances) >= settings.minInstances)) {
        problems.push(
            `${JSON.stringify(instances ?? null)} instance(s), at least ${settings.minInstances} needed (fix: npm run pulumi -- config set --path keel:backend.render.instances ${settings.minInstances} --stack ${stack})`,
        );
    }
    return problems;
}

export function checkProdBackendSafeDeploys(
    args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">,
    settings: SafeDeploySettings = DEFAULT_SETTINGS,
): Violation[] {
    const fly = args.type === FlyMachines.__pulumiType;
    if (!fly && args.type !== RenderService.__pulumiType) return [];
    const level = PROD_ONLY[stageOf(args)];
    if (!level) return [];
    const stack = stackName(args.urn);
    const props = raw(args.props);
    const problems = fly ? flyProblems(props, stack, settings) : renderProblems(props, stack, settings);
    const kind = fly ? "Fly machines" : "Render service";
    return problems.map((p) => ({ urn: args.urn, enforcementLevel: level, message: `${kind} '${args.name}' in prod: ${p}.` }));
}

export const prodBackendSafeDeploys: ResourceValidationPolicy = {
    name: "prod-backend-safe-deploys",
    description: "Prod's backend has a health check path, at least 2 instances and (Fly) a rolling or blue-green rollout.",
    enforcementLevel: "mandatory",
    severity: "medium",
    url: `${HOW_IT_WORKS}#backend-and-frontend`,
    remediationSteps: "Give prod's backend a health check path, two or more machines or instances, and a rolling or blue-green rollout.",
    configSchema: {
        properties: {
            minInstances: { type: "integer", minimum: 1, default: DEFAULT_SETTINGS.minInstances },
            strategies: {
                type: "array",
                items: { type: "string", enum: ["rolling", "bluegreen", "immediate"] },
                default: DEFAULT_SETTINGS.strategies,
            },
        },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const settings = { ...DEFAULT_SETTINGS, ...args.getConfig<Partial<SafeDeploySettings>>() };
        for (const v of checkProdBackendSafeDeploys(args, settings)) report(reportViolation, v);
    },
};
