/**
 * destructive-migrations: a pending migration file with destructive statements
 * (DROP TABLE, DROP COLUMN, ...) must say `-- keel:allow-destructive`.
 * Mandatory on staging and prod, advisory on dev.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { SchemaMigrations } from "../../components/schema/provider";
import { ADVISORY_IN_DEV, field, raw, HOW_IT_WORKS, report, stageOf, Violation } from "../support";

/** The resource types this rule reads. */
export const RESOURCE_TYPES = [SchemaMigrations.__pulumiType];

interface Summary {
    version: string;
    name: string;
    file?: string;
    allowDestructive?: boolean;
    destructive?: string[];
}

/**
 * The files that would run destructive statements without the directive.
 * `pending` (`<version>_<name>`, filled in by the provider's check() against the
 * database) narrows it to what this update applies; without it (no check ran, or
 * its value is unknown) every such file counts, which is the cautious reading.
 */
export function destructiveFindings(props: Record<string, any>): { file: string; statements: string[]; pendingKnown: boolean }[] {
    const migrations = field<Summary[]>(props, "migrations");
    if (!Array.isArray(migrations)) return [];
    const pending = field<string[]>(props, "pending");
    const pendingKnown = Array.isArray(pending) && pending.every((p) => typeof p === "string");
    const out: { file: string; statements: string[]; pendingKnown: boolean }[] = [];
    for (let i = 0; i < migrations.length; i++) {
        const m = field<Summary>(migrations, i);
        if (!m) continue;
        const destructive = (field<string[]>(m, "destructive") ?? []).filter((d) => typeof d === "string");
        if (!destructive.length || field(m, "allowDestructive") === true) continue;
        // An entry is `<version>_<name>: <what it does>` (older state: the id alone).
        if (pendingKnown && !pending!.some((p) => p.replace(/:[\s\S]*$/, "") === `${m.version}_${m.name}`)) continue;
        out.push({ file: m.file ?? `${m.version}_${m.name}.sql`, statements: destructive, pendingKnown });
    }
    return out;
}

export function checkDestructiveMigrations(args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">): Violation[] {
    if (args.type !== SchemaMigrations.__pulumiType) return [];
    const level = ADVISORY_IN_DEV[stageOf(args)];
    if (!level) return [];
    return destructiveFindings(raw(args.props)).map((f) => ({
        urn: args.urn,
        enforcementLevel: level,
        message:
            `SchemaMigrations '${args.name}': ${f.file} ${f.pendingKnown ? "is pending and" : "(pending or not: the database was not checked)"} ` +
            `runs destructive statements (${f.statements.join("; ")}) without '-- keel:allow-destructive'. ` +
            `Take a backup (keel:migrations.backup), then add the line '-- keel:allow-destructive' to ${f.file} if the data loss is meant; otherwise rewrite the migration.`,
    }));
}

export const destructiveMigrations: ResourceValidationPolicy = {
    name: "destructive-migrations",
    description:
        "Pending migrations with destructive statements must carry '-- keel:allow-destructive' (mandatory on staging and prod, advisory on dev).",
    enforcementLevel: "mandatory",
    severity: "high",
    url: `${HOW_IT_WORKS}#how-migrations-work`,
    remediationSteps:
        "Take a backup, then add '-- keel:allow-destructive' to the file if the data loss is meant; otherwise rewrite the migration without it.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const v of checkDestructiveMigrations(args)) report(reportViolation, v);
    },
};
