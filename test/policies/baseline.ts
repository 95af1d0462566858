/**
 * A compliant prod stack as the policy SDK would hand it to the rules (raw
 * props with secrets in the wire form, resource options), and helpers that call
 * a policy's validateResource/validateStack the way the SDK does, collecting
 * violations. Tests change exactly one thing in a copy of the baseline.
 */
import {
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../policies/support";

export const secret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Res {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
    opts: PolicyResourceOptions;
}

const DYN = (t: string) => `pulumi-nodejs:dynamic/keel:${t}`;
export const T = {
    schema: DYN("SchemaMigrations"),
    neonProject: DYN("NeonProject"),
    neonBranch: DYN("NeonBranch"),
    flyApp: DYN("FlyApp"),
    flyMachines: DYN("FlyMachines"),
    flySecrets: DYN("FlySecrets"),
    renderService: DYN("RenderService"),
    vercelEnv: "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
    ruleset: "github:index/repositoryRuleset:RepositoryRuleset",
    branchProtection: "github:index/branchProtection:BranchProtection",
    environment: "github:index/repositoryEnvironment:RepositoryEnvironment",
    deploymentPolicy: "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
    container: "docker:index/container:Container",
    dockerPostgres: "keel:database:DockerPostgres",
};

export function opts(o: Partial<PolicyResourceOptions> = {}): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...o,
    };
}

export function res(stack: string, type: string, name: string, props: Record<string, any>, o: Partial<PolicyResourceOptions> = {}): Res {
    return { type, name, urn: `urn:pulumi:${stack}::keel::${type}::${name}`, props, opts: opts(o) };
}

/** The compliant prod stack (or the same resources on another stack). */
export function baseline(stack = "prod"): Res[] {
    const r = (type: string, name: string, props: Record<string, any>, o: Partial<PolicyResourceOptions> = {}) =>
        res(stack, type, name, props, o);
    return [
        r(
            T.schema,
            "schema-migrations",
            {
                databaseUrl: secret("postgres://app:hunter2@ep-1.us-east-2.aws.neon.tech:5432/app"),
                migrationsDir: "migrations",
                migrations: [
                    {
                        version: "1",
                        name: "accounts",
                        file: "0001_accounts.sql",
                        checksum: "a".repeat(64),
                        transaction: true,
                        allowDestructive: false,
                        destructive: [],
                    },
                    {
                        version: "2",
                        name: "drop_legacy",
                        file: "0002_drop_legacy.sql",
                        checksum: "b".repeat(64),
                        transaction: true,
                        allowDestructive: true,
                        destructive: ["line 2: DROP TABLE legacy"],
                    },
                    {
                        version: "3",
                        name: "orders",
                        file: "0003_orders.sql",
                        checksum: "c".repeat(64),
                        transaction: true,
                        allowDestructive: false,
                        destructive: [],
                    },
                ],
                settings: {
                    historySchema: "public",
                    lockTimeout: "3s",
                    statementTimeout: "5min",
                    lockWaitSeconds: 120,
                    allowMissing: false,
                    outOfOrder: false,
                    backup: true,
                    backupDir: "backups",
                    keepBackups: 10,
                    backupRetentionDays: 7,
                },
                appliedBy: `${stack}:ci`,
                pending: ["2_drop_legacy", "3_orders"],
                stack,
                databaseKind: "neon",
            },
            { additionalSecretOutputs: ["databaseUrl"], parent: `urn:pulumi:${stack}::keel::keel:schema:Schema::schema` },
        ),
        r(
            T.neonProject,
            "database-neon-project",
            { name: "keel-app", regionId: "aws-us-east-2", pgVersion: 16, stack, protect: true, allowDelete: false },
            { protect: true },
        ),
        r(
            T.neonBranch,
            "database-neon-branch",
            { name: "main", parent: "main", schemaOnly: false, protected: true, stack, protect: true, allowDelete: false },
            { protect: true },
        ),
        r(
            T.flyApp,
            "backend-fly-app",
            { allowDelete: false, name: "keel-app-prod", orgSlug: "personal", protect: true, stack },
            { protect: true },
        ),
        r(
            T.flySecrets,
            "backend-fly-secrets",
            { app: "keel-app-prod", values: secret({ DATABASE_URL: "postgres://app:pw@pooler/app", STRIPE_SECRET_KEY: "sk_live_1" }) },
            { additionalSecretOutputs: ["values", "digests"] },
        ),
        r(T.flyMachines, "backend-fly-machines", {
            app: "keel-app-prod",
            env: { LOG_LEVEL: "info", NODE_ENV: "production" },
            guest: { cpuKind: "shared", cpus: 1, memoryMb: 512 },
            healthCheck: { gracePeriodSeconds: 10, intervalSeconds: 15, path: "/healthz", timeoutSeconds: 5 },
            healthTimeoutSeconds: 300,
            image: "registry.fly.io/keel-app-prod:1.0.0",
            processGroup: "app",
            regions: [{ count: 2, region: "iad" }],
            restart: { policy: "on-failure" },
            service: { autostart: true, autostop: "off", forceHttps: true, internalPort: 8080, minMachinesRunning: 1 },
            secretsVersion: 3,
            stack,
            strategy: "rolling",
        }),
        r(
            T.renderService,
            "backend-render-service",
            {
                allowDelete: false,
                deployTimeoutSeconds: 1200,
                envVars: secret({ DATABASE_URL: "postgres://app:pw@pooler/app" }),
                healthCheckPath: "/healthz",
                name: "keel-app-api",
                numInstances: 2,
                ownerId: "tea-1",
                plan: "starter",
                protect: true,
                region: "oregon",
                source: { image: "ghcr.io/keel-dev/api:1.0.0", kind: "image" },
                stack,
            },
            { protect: true, additionalSecretOutputs: ["envVars"] },
        ),
        r(
            T.vercelEnv,
            "frontend-env-NEXT_PUBLIC_STAGE",
            { projectId: UNKNOWN, key: "NEXT_PUBLIC_STAGE", value: secret(stack), targets: ["production", "preview"], sensitive: false },
            { additionalSecretOutputs: ["value", "valueWo"] },
        ),
        r(
            T.vercelEnv,
            "frontend-env-STRIPE_SECRET_KEY",
            {
                projectId: UNKNOWN,
                key: "STRIPE_SECRET_KEY",
                value: secret("sk_live_2"),
                targets: ["production", "preview"],
                sensitive: true,
            },
            { additionalSecretOutputs: ["value", "valueWo"] },
        ),
        r(T.ruleset, "repo-main-ruleset", {
            name: "main",
            repository: "keel-app",
            target: "branch",
            enforcement: "active",
            conditions: { refName: { includes: ["~DEFAULT_BRANCH"], excludes: [] } },
            rules: {
                deletion: true,
                nonFastForward: true,
                requiredLinearHistory: true,
                requiredStatusChecks: {
                    strictRequiredStatusChecksPolicy: true,
                    requiredChecks: [{ context: "lint" }, { context: "typecheck" }, { context: "test" }],
                },
            },
        }),
        r(T.environment, "repo-env-production", {
            repository: "keel-app",
            environment: "production",
            deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
        }),
        r(T.deploymentPolicy, "repo-env-production-main", { repository: "keel-app", environment: "production", branchPattern: "main" }),
    ];
}

/** A deep copy of one resource of the baseline with a change applied. */
export function changed(resources: Res[], type: string, change: (r: Res) => void, index = 0): Res {
    const copy: Res = structuredClone(resources.filter((r) => r.type === type)[index]);
    change(copy);
    return copy;
}

export interface Reported {
    message: string;
    urn?: string;
    enforcementLevel: EnforcementLevel;
}

/** The reportViolation the SDK passes: a string (with the policy's level) or an object with its own. */
function collector(policyLevel: EnforcementLevel | undefined, out: Reported[]) {
    return (message: any, urn?: string) => {
        if (typeof message === "object")
            out.push({
                message: message.message,
                urn: message.urn,
                enforcementLevel: message.enforcementLevel ?? policyLevel ?? "advisory",
            });
        else out.push({ message, urn, enforcementLevel: policyLevel ?? "advisory" });
    };
}

class NotApplicable extends Error {}

/** Calls a resource policy as the SDK's analyze handler would. */
export async function validateResource(policy: ResourceValidationPolicy, r: Res, props: any = r.props): Promise<Reported[]> {
    const out: Reported[] = [];
    const args: ResourceValidationArgs = {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: r.opts,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <C extends object>() => ({}) as C,
        notApplicable: (reason?: string) => {
            throw new NotApplicable(reason);
        },
    };
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    for (const v of validations) {
        try {
            await v(args, collector(policy.enforcementLevel, out));
        } catch (e) {
            if (!(e instanceof NotApplicable)) throw e;
        }
    }
    return out;
}

/** Calls a stack policy as the SDK's analyzeStack handler would. */
export async function validateStack(policy: StackValidationPolicy, resources: Res[], config: object = {}): Promise<Reported[]> {
    const out: Reported[] = [];
    const args: StackValidationArgs = {
        resources: resources.map(
            (r) => ({ ...r, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined }) as PolicyResource,
        ),
        stackTags: new Map(),
        getConfig: <C extends object>() => config as C,
        notApplicable: (reason?: string) => {
            throw new NotApplicable(reason);
        },
    };
    try {
        await policy.validateStack(args, collector(policy.enforcementLevel, out));
    } catch (e) {
        if (!(e instanceof NotApplicable)) throw e;
    }
    return out;
}

/** Every resource policy over every resource. */
export async function validateAll(policy: ResourceValidationPolicy, resources: Res[]): Promise<Reported[]> {
    const out: Reported[] = [];
    for (const r of resources) out.push(...(await validateResource(policy, r)));
    return out;
}
