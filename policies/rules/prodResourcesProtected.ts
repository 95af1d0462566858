/**
 * prod-resources-protected: in prod the Neon project and branch, the Fly app and
 * the Render service carry Pulumi's `protect`, so no update or destroy deletes them.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { FlyApp } from "../../components/backend/fly/app";
import { RenderService } from "../../components/backend/render/service";
import { NeonBranch } from "../../components/database/neon/branch";
import { NeonProject } from "../../components/database/neon/project";
import { PROD_ONLY, HOW_IT_WORKS, report, stackName, stageOf, Violation } from "../support";

/** Type -> the config key that lifts the protection (the Neon objects: keel:allowDataLoss, components/dataGuard.ts, or the older allowDelete). */
export const PROTECTED_TYPES: Record<string, string> = {
    [NeonProject.__pulumiType]: "keel:allowDataLoss",
    [NeonBranch.__pulumiType]: "keel:allowDataLoss",
    [FlyApp.__pulumiType]: "keel:backend.allowDelete",
    [RenderService.__pulumiType]: "keel:backend.allowDelete",
};

/** The resource types this rule reads. */
export const RESOURCE_TYPES = Object.keys(PROTECTED_TYPES);

export function checkProdResourcesProtected(args: Pick<ResourceValidationArgs, "type" | "urn" | "name" | "opts" | "props">): Violation[] {
    const key = PROTECTED_TYPES[args.type];
    if (!key) return [];
    const level = PROD_ONLY[stageOf(args)];
    if (!level || args.opts?.protect === true) return [];
    const stack = stackName(args.urn);
    return [
        {
            urn: args.urn,
            enforcementLevel: level,
            message:
                `'${args.name}' (${args.type.replace("pulumi-nodejs:dynamic/", "")}) is not protected in prod: a replace or destroy would delete it. ` +
                (key === "keel:allowDataLoss"
                    ? `Fix: take '${args.name}' out of keel:allowDataLoss (npm run pulumi -- config rm keel:allowDataLoss --stack ${stack}) and leave keel:database.neon.allowDelete unset (Keel protects what holds data unless one of them names it); `
                    : `Fix: npm run pulumi -- config set --path ${key} false --stack ${stack} (Keel protects it in prod unless ${key} is true); `) +
                `lift it only for a deliberate removal, whose update this pack refuses by design: run that one without it (KEEL_SKIP_POLICY=1 npm run up -- ${stack}).`,
        },
    ];
}

export const prodResourcesProtected: ResourceValidationPolicy = {
    name: "prod-resources-protected",
    description: "In prod the Neon project and branch, the Fly app and the Render service are protected.",
    enforcementLevel: "mandatory",
    severity: "critical",
    url: `${HOW_IT_WORKS}#databases`,
    remediationSteps:
        "Leave keel:database.neon.allowDelete and keel:backend.allowDelete unset on prod; for a deliberate removal, lift them for that one update (README: What Keel never deletes).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkProdResourcesProtected(args)) report(reportViolation, v);
    },
};
