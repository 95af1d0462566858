/**
 * The stack's configuration, parsed and validated before any resource is
 * declared. Every problem is reported at once with its key, what was expected
 * and the `pulumi config set` command that fixes it. Pure: no Pulumi imports;
 * index.ts hands in the raw config map.
 */
import { z } from "zod";
import { ConfigError, ConfigProblem } from "./errors";
import { configFix, NAMESPACE, parseConfigSection, parseJsonValue, valueAt } from "./configSupport";
import { isPgDuration } from "./schema/migrationSet";
import { unusableUrlReason } from "./schema/connection";
import { GITHUB_EXAMPLES, GithubConfig, parseGithub } from "./githubConfig";
import { BACKEND_EXAMPLES, BackendConfig, FrontendConfig, parseBackend, parseFrontend } from "./backendConfig";
import { Stage, STAGES, stageDefaults, StageDefaults } from "./stage";

export { NAMESPACE };

export interface MigrationConfig {
    /** Directory of `<version>_<name>.sql` files, relative to the project. */
    dir: string;
    /** Schema that holds keel_schema_history. */
    historySchema: string;
    lockTimeout: string;
    statementTimeout: string;
    lockWaitSeconds: number;
    allowMissing: boolean;
    outOfOrder: boolean;
    baseline?: string;
    /** Take a backup before applying pending migrations (pg_dump, or a Neon snapshot branch). */
    backup: boolean;
    /** Where pg_dump backups go (`<backupDir>/<stack>/`), relative to the project. */
    backupDir: string;
    /** How many pg_dump backups of the stack to keep; older ones are removed. */
    keepBackups: number;
    /** How long a Neon snapshot branch lives before Neon deletes it. */
    backupRetentionDays: number;
}

export interface ExternalDatabaseConfig {
    kind: "external";
    /** Direct connection URL; wrap it in pulumi.secret at once. */
    url: string;
    /** Where the URL came from, for messages. */
    source: "config" | "env";
}

export interface DockerDatabaseConfig {
    kind: "docker";
    /** A pinned image: a version tag or a digest, never `latest`. */
    image: string;
    /** Host port on 127.0.0.1. */
    port: number;
    databaseName: string;
    user: string;
    volumeName: string;
    containerName: string;
}

export interface NeonDatabaseConfig {
    kind: "neon";
    project: { name: string; ownedBy: Stage; owned: boolean; regionId: string; pgVersion: number; orgId?: string };
    /** parent undefined: this stack uses the project's default branch. */
    branch: { name: string; parent?: string; protected: boolean; schemaOnly: boolean };
    endpoint: { minCu: number; maxCu: number; suspendTimeoutSeconds: number };
    roleName: string;
    databaseName: string;
    /** SQL run after `npm run db:reset` copies the parent branch (mask emails, drop tokens). */
    sanitizeSql?: string;
    /** Deleting the protected (prod) Neon project and branch is meant: lifts protect, retainOnDelete and the providers' refusal. */
    allowDelete: boolean;
}

export type DatabaseConfig = ExternalDatabaseConfig | DockerDatabaseConfig | NeonDatabaseConfig;

export interface KeelConfig {
    project: string;
    stack: string;
    stage: Stage;
    defaults: StageDefaults;
    database: DatabaseConfig;
    migrations: MigrationConfig;
    /** The backend service (Fly.io or Render); undefined when the stack runs none. */
    backend?: BackendConfig;
    /** The Vercel frontend; undefined when the stack has none. */
    frontend?: FrontendConfig;
    /** The repository's gates and workflows; undefined when Keel does not manage them. */
    github?: GithubConfig;
}

/** What the program reads: raw config values (`keel:key` -> string) and which of them are secret. */
export interface RawConfig {
    /** The Pulumi project's name (names the Neon project by default). */
    project?: string;
    stack: string;
    values: Record<string, string>;
    secretKeys: ReadonlySet<string>;
    env: Record<string, string | undefined>;
    /** Stacks with a Pulumi.<stack>.yaml, when known (keel:github.branches must name them). */
    knownStacks?: readonly string[];
    /** Check the backend's and frontend's API tokens (default true; operator scripts that only touch the database pass false). */
    deployCredentials?: boolean;
}

const duration = z.string().refine(isPgDuration, { message: "expected a duration such as 5s, 250ms or 10min" });
const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/, { message: "expected a lower-case SQL identifier such as app" });
const stageName = z.enum(STAGES);

const migrationsSchema = z
    .object({
        dir: z.string().min(1).default("migrations"),
        historySchema: identifier.default("public"),
        lockTimeout: duration.optional(),
        statementTimeout: duration.optional(),
        lockWaitSeconds: z.number().int().min(0).max(3600).optional(),
        allowMissing: z.boolean().default(false),
        outOfOrder: z.boolean().default(false),
        baseline: z
            .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, { message: "expected a migration version (digits)" })])
            .optional(),
        backup: z.boolean().optional(),
        backupDir: z.string().min(1).default("backups"),
        keepBackups: z.number().int().min(1).max(1000).optional(),
        backupRetentionDays: z.number().int().min(1).max(365).default(7),
    })
    .strict();

/** An image reference pinned to a version or digest: `postgres:16.4`, `postgres@sha256:…`. */
const pinnedImage = z.string().refine((ref) => /@sha256:[0-9a-f]{64}$/.test(ref) || /:[^/:@]*\d[^/:@]*$/.test(ref) && !/:latest$/.test(ref), {
    message: "expected an image pinned to a version tag or digest, such as postgres:16.4-bookworm (never latest or no tag)",
});

const databaseSchema = z
    .object({
        kind: z.enum(["docker", "external", "neon"]).optional(),
        docker: z
            .object({
                image: pinnedImage.default("postgres:16.4-bookworm"),
                port: z.number().int().min(1024).max(65535).default(5432),
                databaseName: identifier.default("app"),
                user: identifier.default("app"),
            })
            .strict()
            .optional(),
        neon: z
            .object({
                project: z
                    .object({
                        name: z.string().min(1).max(64).optional(),
                        ownedBy: stageName.default("prod"),
                        regionId: z.string().min(1).default("aws-us-east-2"),
                        pgVersion: z.number().int().min(14).max(18).default(16),
                        orgId: z.string().min(1).optional(),
                    })
                    .strict()
                    .default({ ownedBy: "prod", regionId: "aws-us-east-2", pgVersion: 16 }),
                branch: z
                    .object({
                        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, { message: "expected a branch name such as main or staging" }).optional(),
                        parent: z.string().min(1).optional(),
                        schemaOnly: z.boolean().default(false),
                        protected: z.boolean().optional(),
                    })
                    .strict()
                    .default({ schemaOnly: false }),
                endpoint: z
                    .object({
                        minCu: z.number().min(0.25).max(56).default(0.25),
                        maxCu: z.number().min(0.25).max(56).optional(),
                        suspendTimeoutSeconds: z.number().int().min(-1).max(604800).optional(),
                    })
                    .strict()
                    .default({ minCu: 0.25 }),
                roleName: identifier.default("app"),
                databaseName: identifier.default("app"),
                sanitizeSql: z.string().min(1).optional(),
                allowDelete: z.boolean().default(false),
            })
            .strict()
            .optional(),
    })
    .strict();

/** Example values for fix commands, by key path. */
const EXAMPLES: Record<string, string> = {
    "migrations.dir": "migrations",
    "migrations.historySchema": "public",
    "migrations.lockTimeout": "5s",
    "migrations.statementTimeout": "5min",
    "migrations.lockWaitSeconds": "120",
    "migrations.allowMissing": "true",
    "migrations.outOfOrder": "true",
    "migrations.baseline": "20240101000000",
    "migrations.backup": "true",
    "migrations.backupDir": "backups",
    "migrations.keepBackups": "10",
    "migrations.backupRetentionDays": "7",
    "database.kind": "neon",
    "database.docker.image": "postgres:16.4-bookworm",
    "database.docker.port": "5432",
    "database.neon.project.name": "my-app",
    "database.neon.project.ownedBy": "prod",
    "database.neon.project.regionId": "aws-us-east-2",
    "database.neon.project.pgVersion": "16",
    "database.neon.branch.name": "staging",
    "database.neon.branch.parent": "main",
    "database.neon.endpoint.minCu": "0.25",
    "database.neon.endpoint.maxCu": "2",
    "database.neon.endpoint.suspendTimeoutSeconds": "300",
    stage: "dev",
    ...BACKEND_EXAMPLES,
    ...GITHUB_EXAMPLES,
};

const KNOWN_KEYS = [
    "databaseUrl",
    "neonApiKey",
    "neonApiUrl",
    "stage",
    "migrations",
    "database",
    "backend",
    "backendSecrets",
    "frontend",
    "frontendSecrets",
    "flyApiToken",
    "flyApiUrl",
    "renderApiKey",
    "renderApiUrl",
    "vercelApiToken",
    "registryPassword",
    "github",
    "githubToken",
    "pulumiPassphrase",
    "pulumiAccessToken",
    "slackWebhookUrl",
];
/** Keys whose values are credentials: refused in plain text. */
const SECRET_KEYS = [
    "databaseUrl",
    "neonApiKey",
    "backendSecrets",
    "frontendSecrets",
    "flyApiToken",
    "renderApiKey",
    "vercelApiToken",
    "registryPassword",
    "githubToken",
    "pulumiPassphrase",
    "pulumiAccessToken",
    "slackWebhookUrl",
];

function fixFor(stack: string, path: string, secret = false): string {
    return configFix(stack, path, EXAMPLES[path], secret);
}

function parseSection<T extends z.ZodTypeAny>(stack: string, key: string, schema: T, raw: string | undefined, problems: ConfigProblem[]): z.infer<T> | undefined {
    return parseConfigSection(stack, key, schema, raw, problems, EXAMPLES);
}

/** Parses and validates the whole stack config; throws ConfigError listing every problem. */
export function parseKeelConfig(raw: RawConfig): KeelConfig {
    const problems: ConfigProblem[] = [];
    const { stack, values } = raw;
    const project = raw.project ?? "keel";
    const get = (key: string): string | undefined => values[`${NAMESPACE}:${key}`];

    for (const fullKey of Object.keys(values)) {
        if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
        const key = fullKey.slice(NAMESPACE.length + 1);
        if (!KNOWN_KEYS.includes(key)) {
            problems.push({
                key: fullKey,
                message: `unknown key (known keys: ${KNOWN_KEYS.map((k) => `${NAMESPACE}:${k}`).join(", ")})`,
                fix: `pulumi config rm ${fullKey} --stack ${stack}, or correct its spelling`,
            });
        } else if (SECRET_KEYS.includes(key) && !raw.secretKeys.has(fullKey)) {
            problems.push({
                key: fullKey,
                message: "is stored in plain text in the stack file; it holds a credential and must be a secret",
                fix: `pulumi config set --secret ${fullKey} '<value>' --stack ${stack}`,
            });
        }
    }

    // Stage: the stack's name when it is one of the stages, else keel:stage.
    let stage: Stage = "dev";
    // Pulumi.yaml declares keel:stage with an empty default, meaning "the stack's name".
    const stageValue = get("stage") || stack;
    if ((STAGES as readonly string[]).includes(stageValue)) stage = stageValue as Stage;
    else {
        problems.push({
            key: `${NAMESPACE}:stage`,
            message:
                get("stage") !== undefined && get("stage") !== ""
                    ? `'${stageValue}' is not a stage; expected one of ${STAGES.join(", ")}`
                    : `stack '${stack}' is not named after a stage, so Keel cannot tell which defaults apply; expected one of ${STAGES.join(", ")}`,
            fix: fixFor(stack, "stage"),
        });
    }
    const defaults = stageDefaults(stage);

    const database = parseDatabase(raw, stage, project, get, problems);

    const m = parseSection(stack, "migrations", migrationsSchema, get("migrations"), problems);
    const migrations: MigrationConfig | undefined = m && {
        dir: m.dir,
        historySchema: m.historySchema,
        lockTimeout: m.lockTimeout ?? defaults.migrations.lockTimeout,
        statementTimeout: m.statementTimeout ?? defaults.migrations.statementTimeout,
        lockWaitSeconds: m.lockWaitSeconds ?? defaults.migrations.lockWaitSeconds,
        allowMissing: m.allowMissing,
        outOfOrder: m.outOfOrder,
        baseline: m.baseline === undefined ? undefined : BigInt(m.baseline).toString(),
        backup: m.backup ?? defaults.migrations.backup,
        backupDir: m.backupDir,
        keepBackups: m.keepBackups ?? defaults.migrations.keepBackups,
        backupRetentionDays: m.backupRetentionDays,
    };

    const section = { stack, stage, project, defaults, get, env: raw.env, problems, deployCredentials: raw.deployCredentials ?? true };
    const backend = parseBackend(section);
    const frontend = parseFrontend(section, backend, get("backend") !== undefined);
    const github = parseGithub({ ...section, knownStacks: raw.knownStacks });

    if (problems.length || !migrations || !database) throw new ConfigError(stack, problems);
    return { project, stack, stage, defaults, database, migrations, ...(backend ? { backend } : {}), ...(frontend ? { frontend } : {}), ...(github ? { github } : {}) };
}

const URL_FIX = (stack: string) => `pulumi config set --secret ${NAMESPACE}:databaseUrl 'postgres://user:password@host:5432/db' --stack ${stack}`;

/**
 * The database: `docker` (the dev default), `external` (a URL from secret config,
 * or DATABASE_URL on dev) or `neon`.
 */
function parseDatabase(
    raw: RawConfig,
    stage: Stage,
    project: string,
    get: (key: string) => string | undefined,
    problems: ConfigProblem[],
): DatabaseConfig | undefined {
    const { stack } = raw;
    const before = problems.length;
    const rawValue = get("database");
    const section = parseSection(stack, "database", databaseSchema, rawValue, problems);
    // Kind-level checks run even when some setting is invalid, so every problem shows at once.
    const rawSection = (rawValue === undefined ? {} : parseJsonValue(rawValue)) as Record<string, unknown>;
    const rawKind = databaseSchema.shape.kind.safeParse(valueAt(rawSection, ["kind"])).data;

    const configuredUrl = get("databaseUrl");
    const envUrl = stage === "dev" ? raw.env.DATABASE_URL : undefined;
    // Without an explicit kind: a URL means an existing server; otherwise Docker on dev.
    const kind = section?.kind ?? rawKind ?? (configuredUrl !== undefined || envUrl ? "external" : stage === "dev" ? "docker" : undefined);
    if (!kind) {
        if (!section) return undefined;
        problems.push({
            key: `${NAMESPACE}:database.kind`,
            message: `is not set and neither is ${NAMESPACE}:databaseUrl; a ${stage} stack needs a database: neon, or an existing server by URL`,
            fix: `${fixFor(stack, "database.kind")} (or: ${URL_FIX(stack)})`,
        });
        return undefined;
    }
    // With an explicit kind, settings for another kind are a mistake; with an inferred one (dev with
    // DATABASE_URL exported) the Docker settings simply wait for the day the URL is unset.
    const explicitKind = section?.kind ?? rawKind;
    for (const other of ["docker", "neon"] as const) {
        if (explicitKind && rawSection && typeof rawSection === "object" && other in rawSection && kind !== other) {
            problems.push({
                key: `${NAMESPACE}:database.${other}`,
                message: `settings for '${other}' but the database kind is '${kind}'`,
                fix: `pulumi config rm --path ${NAMESPACE}:database.${other} --stack ${stack} (or set ${NAMESPACE}:database.kind ${other})`,
            });
        }
    }
    if (kind === "docker" && stage === "prod") {
        problems.push({
            key: `${NAMESPACE}:database.kind`,
            message: "is 'docker' on prod: a container on one machine is no production database (no backups, no failover)",
            fix: `${fixFor(stack, "database.kind")} (or point at an existing server: ${URL_FIX(stack)})`,
        });
    }
    if (kind !== "external" && configuredUrl !== undefined) {
        problems.push({
            key: `${NAMESPACE}:databaseUrl`,
            message: `is set but the database kind is '${kind}', which makes its own URL`,
            fix: `pulumi config rm ${NAMESPACE}:databaseUrl --stack ${stack} (or set ${NAMESPACE}:database.kind external)`,
        });
    }
    if (!section) return undefined;

    switch (kind) {
        case "external": {
            const url = configuredUrl ?? envUrl;
            if (!url) {
                problems.push({
                    key: `${NAMESPACE}:databaseUrl`,
                    message:
                        stage === "dev"
                            ? "is not set and DATABASE_URL is not in the environment; the external database needs its URL"
                            : "is not set; the external database needs the direct connection URL",
                    fix: URL_FIX(stack) + (stage === "dev" ? " (or export DATABASE_URL)" : ""),
                });
                return undefined;
            }
            const source = configuredUrl !== undefined ? "config" : "env";
            const reason = unusableUrlReason(url);
            if (reason) {
                problems.push({
                    key: source === "env" ? "DATABASE_URL (environment)" : `${NAMESPACE}:databaseUrl`,
                    message: reason,
                    fix: source === "env" ? "export DATABASE_URL=postgres://user:password@host:5432/db" : URL_FIX(stack),
                });
            }
            return problems.length > before ? undefined : { kind, url, source };
        }
        case "docker": {
            const d = section.docker ?? { image: "postgres:16.4-bookworm", port: 5432, databaseName: "app", user: "app" };
            return problems.length > before
                ? undefined
                : { kind, ...d, volumeName: `${project}-${stack}-pgdata`, containerName: `${project}-${stack}-postgres` };
        }
        case "neon": {
            if (get("neonApiKey") === undefined && !raw.env.NEON_API_KEY) {
                problems.push({
                    key: `${NAMESPACE}:neonApiKey`,
                    message: "is not set and NEON_API_KEY is not in the environment; the neon database kind needs a Neon API key",
                    fix: `pulumi config set --secret ${NAMESPACE}:neonApiKey <key from the Neon console> --stack ${stack} (or export NEON_API_KEY)`,
                });
            }
            const n = section.neon ?? databaseSchema.shape.neon.unwrap().parse({});
            const owned = n.project.ownedBy === stage;
            const production = stage === "prod";
            // The owner stack uses the project's default branch; the others branch off it (or off `parent`).
            const branchName = n.branch.name ?? (owned ? "main" : stack);
            const parent = owned ? undefined : (n.branch.parent ?? "main");
            if (owned && n.branch.parent) {
                problems.push({
                    key: `${NAMESPACE}:database.neon.branch.parent`,
                    message: `is set, but this stack owns the Neon project and uses its default branch, which has no parent`,
                    fix: `pulumi config rm --path ${NAMESPACE}:database.neon.branch.parent --stack ${stack}`,
                });
            }
            if (n.endpoint.maxCu !== undefined && n.endpoint.maxCu < n.endpoint.minCu) {
                problems.push({
                    key: `${NAMESPACE}:database.neon.endpoint.maxCu`,
                    message: `${n.endpoint.maxCu} is below minCu ${n.endpoint.minCu}`,
                    fix: fixFor(stack, "database.neon.endpoint.maxCu"),
                });
            }
            return problems.length > before
                ? undefined
                : {
                      kind,
                      project: { name: n.project.name ?? project, ownedBy: n.project.ownedBy, owned, regionId: n.project.regionId, pgVersion: n.project.pgVersion, orgId: n.project.orgId },
                      branch: { name: branchName, parent, protected: n.branch.protected ?? production, schemaOnly: n.branch.schemaOnly },
                      endpoint: {
                          minCu: n.endpoint.minCu,
                          maxCu: n.endpoint.maxCu ?? (production ? 2 : 1),
                          // Prod stays warm; other stages sleep after 5 minutes idle.
                          suspendTimeoutSeconds: n.endpoint.suspendTimeoutSeconds ?? (production ? -1 : 300),
                      },
                      roleName: n.roleName,
                      databaseName: n.databaseName,
                      sanitizeSql: n.sanitizeSql,
                      allowDelete: n.allowDelete,
                  };
        }
    }
}
