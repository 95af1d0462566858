/**
 * no-docker-database-in-prod: prod never runs a Docker container (in particular
 * not Keel's Docker PostgreSQL): its data would live on one machine's volume.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { PROD_ONLY, report, stageFromUrn, stackName, Violation } from "../support";

export const DOCKER_CONTAINER = "docker:index/container:Container";
export const DOCKER_POSTGRES = "keel:database:DockerPostgres";

export function checkNoDockerDatabaseInProd(args: Pick<ResourceValidationArgs, "type" | "urn" | "name">): Violation[] {
    if (args.type !== DOCKER_CONTAINER && args.type !== DOCKER_POSTGRES) return [];
    const level = PROD_ONLY[stageFromUrn(args.urn)];
    if (!level) return [];
    const what = args.type === DOCKER_POSTGRES ? "Keel's Docker PostgreSQL" : "a Docker container";
    const stack = stackName(args.urn);
    return [
        {
            urn: args.urn,
            enforcementLevel: level,
            message:
                `'${args.name}' (${args.type}) is ${what} in prod; prod's database must not live in a container on one machine. ` +
                `Fix: pulumi config set --path keel:database.kind neon --stack ${stack} (or 'external' with pulumi config set --secret keel:databaseUrl <url> --stack ${stack}).`,
        },
    ];
}

export const noDockerDatabaseInProd: ResourceValidationPolicy = {
    name: "no-docker-database-in-prod",
    description: "Prod declares no Docker container and no Docker PostgreSQL (use Neon or an external server).",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkNoDockerDatabaseInProd(args)) report(reportViolation, v);
    },
};
