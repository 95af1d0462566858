/**
 * prod-resources-protected: in prod the Neon project and branch, the Fly app and
 * the Render service carry Pulumi's `protect`, so no update or destroy deletes them.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { PROD_ONLY, report, stageFromUrn, stackName, Violation } from "../support";

const DYN = "pulumi-nodejs:dynamic/keel:";
/** Type -> the config key whose `allowDelete` lifts the protection. */
export const PROTECTED_TYPES: Record<string, string> = {
    [`${DYN}NeonProject`]: "keel:database.neon.allowDelete",
    [`${DYN}NeonBranch`]: "keel:database.neon.allowDelete",
    [`${DYN}FlyApp`]: "keel:backend.allowDelete",
    [`${DYN}RenderService`]: "keel:backend.allowDelete",
};

export function checkProdResourcesProtected(args: Pick<ResourceValidationArgs, "type" | "urn" | "name" | "opts">): Violation[] {
    const key = PROTECTED_TYPES[args.type];
    if (!key) return [];
    const level = PROD_ONLY[stageFromUrn(args.urn)];
    if (!level || args.opts?.protect === true) return [];
    const stack = stackName(args.urn);
    return [
        {
            urn: args.urn,
            enforcementLevel: level,
            message:
                `'${args.name}' (${args.type.replace(DYN, "keel:")}) is not protected in prod: a replace or destroy would delete it. ` +
                `Fix: pulumi config set --path ${key} false --stack ${stack} (Keel protects it in prod unless ${key} is true); ` +
                `lift it only for a deliberate removal, whose update this pack refuses by design: run that one without it (KEEL_SKIP_POLICY=1 npm run up -- ${stack}).`,
        },
    ];
}

export const prodResourcesProtected: ResourceValidationPolicy = {
    name: "prod-resources-protected",
    description: "In prod the Neon project and branch, the Fly app and the Render service are protected.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkProdResourcesProtected(args)) report(reportViolation, v);
    },
};
