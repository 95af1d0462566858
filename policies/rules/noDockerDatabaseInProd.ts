/**
 * no-docker-database-in-prod: prod never runs a Docker container (in particular
 * not Keel's Docker PostgreSQL): its data would live on one machine's volume.
 */
import * as docker from "@pulumi/docker";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { DockerPostgres } from "../../components/database/docker";
import { PROD_ONLY, HOW_IT_WORKS, report, stackName, stageFromUrn, stageOf, Violation } from "../support";

/** @pulumi/docker's Container sets its type token at runtime without declaring it. */
const CONTAINER = (docker.Container as unknown as { __pulumiType: string }).__pulumiType;

/** The resource types this rule reads. */
export const RESOURCE_TYPES = [CONTAINER, DockerPostgres.__pulumiType];

export function checkNoDockerDatabaseInProd(args: Pick<ResourceValidationArgs, "type" | "urn" | "name" | "props" | "opts">): Violation[] {
    if (args.type !== CONTAINER && args.type !== DockerPostgres.__pulumiType) return [];
    // Keel's own container is judged with its DockerPostgres, which carries the stack's stage; any other by its stack's name.
    if (args.type === CONTAINER && (args.opts?.parent ?? "").includes(`::${DockerPostgres.__pulumiType}`)) return [];
    const level = PROD_ONLY[args.type === DockerPostgres.__pulumiType ? stageOf(args) : stageFromUrn(args.urn)];
    if (!level) return [];
    const what = args.type === DockerPostgres.__pulumiType ? "Keel's Docker PostgreSQL" : "a Docker container";
    const stack = stackName(args.urn);
    return [
        {
            urn: args.urn,
            enforcementLevel: level,
            message:
                `'${args.name}' (${args.type}) is ${what} in prod; prod's database must not live in a container on one machine. ` +
                `Fix: npm run pulumi -- config set --path keel:database.kind neon --stack ${stack} (or 'external' with npm run pulumi -- config set --secret keel:databaseUrl <url> --stack ${stack}).`,
        },
    ];
}

export const noDockerDatabaseInProd: ResourceValidationPolicy = {
    name: "no-docker-database-in-prod",
    description: "Prod declares no Docker container and no Docker PostgreSQL (use Neon or an external server).",
    enforcementLevel: "mandatory",
    severity: "critical",
    url: `${HOW_IT_WORKS}#databases`,
    remediationSteps:
        "Use Neon (npm run pulumi -- config set --path keel:database.kind neon) or an existing server (keel:databaseUrl, as a secret).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkNoDockerDatabaseInProd(args)) report(reportViolation, v);
    },
};
