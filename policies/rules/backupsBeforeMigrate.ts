/**
 * backups-before-migrate: on staging and prod the schema resource must take a
 * backup before it applies migrations (`settings.backup`, from keel:migrations.backup).
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { SchemaMigrations } from "../../components/schema/provider";
import { field, raw, OPERATIONS, report, SHARED_STAGES_ONLY, stackName, stageOf, Violation } from "../support";

/** The resource types this rule reads. */
export const RESOURCE_TYPES = [SchemaMigrations.__pulumiType];

export function checkBackupsBeforeMigrate(args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">): Violation[] {
    if (args.type !== SchemaMigrations.__pulumiType) return [];
    const stage = stageOf(args);
    const level = SHARED_STAGES_ONLY[stage];
    if (!level) return [];
    const props = raw(args.props);
    if (field(props, "settings", "backup") === true) return [];
    const stack = stackName(args.urn);
    return [
        {
            urn: args.urn,
            enforcementLevel: level,
            message:
                `SchemaMigrations '${args.name}': migrations on ${stage} must be preceded by a backup, but settings.backup is ${JSON.stringify(field(props, "settings", "backup") ?? null)}. ` +
                `Fix: npm run pulumi -- config set --path keel:migrations.backup true --stack ${stack}`,
        },
    ];
}

export const backupsBeforeMigrate: ResourceValidationPolicy = {
    name: "backups-before-migrate",
    description: "Staging and prod take a backup before migrating (keel:migrations.backup must be true).",
    enforcementLevel: "mandatory",
    severity: "high",
    url: `${OPERATIONS}#backups`,
    remediationSteps: "npm run pulumi -- config set --path keel:migrations.backup true --stack <stack> (the default on staging and prod).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkBackupsBeforeMigrate(args)) report(reportViolation, v);
    },
};
