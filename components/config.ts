/**
 * The stack's configuration, parsed and validated before any resource is
 * declared. Every problem is reported at once with its key, what was expected
 * and the `pulumi config set` command that fixes it. Pure: no Pulumi imports;
 * index.ts hands in the raw config map.
 */
import { z } from "zod";
import { ConfigError, ConfigProblem } from "./errors";
import { isPgDuration } from "./schema/migrationSet";
import { unusableUrlReason } from "./schema/connection";
import { Stage, STAGES, stageDefaults } from "./stage";

export const NAMESPACE = "keel";

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
}

export interface KeelConfig {
    stack: string;
    stage: Stage;
    database: {
        /** Direct connection URL; wrap it in pulumi.secret at once. */
        url: string;
        /** Where the URL came from, for messages. */
        source: "config" | "env";
    };
    migrations: MigrationConfig;
}

/** What the program reads: raw config values (`keel:key` -> string) and which of them are secret. */
export interface RawConfig {
    stack: string;
    values: Record<string, string>;
    secretKeys: ReadonlySet<string>;
    env: Record<string, string | undefined>;
}

const duration = z.string().refine(isPgDuration, { message: "expected a duration such as 5s, 250ms or 10min" });

const migrationsSchema = z
    .object({
        dir: z.string().min(1).default("migrations"),
        historySchema: z
            .string()
            .regex(/^[a-z_][a-z0-9_]*$/, { message: "expected a lower-case SQL identifier such as public or keel" })
            .default("public"),
        lockTimeout: duration.optional(),
        statementTimeout: duration.optional(),
        lockWaitSeconds: z.number().int().min(0).max(3600).optional(),
        allowMissing: z.boolean().default(false),
        outOfOrder: z.boolean().default(false),
        baseline: z
            .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, { message: "expected a migration version (digits)" })])
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
    stage: "dev",
};

const KNOWN_KEYS = ["databaseUrl", "stage", "migrations"];

function fixFor(stack: string, path: string, secret = false): string {
    const example = EXAMPLES[path] ?? "<value>";
    const usePath = path.includes(".") ? " --path" : "";
    return `pulumi config set${secret ? " --secret" : ""}${usePath} ${NAMESPACE}:${path} ${example} --stack ${stack}`;
}

function parseJsonValue(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

/** Parses and validates the whole stack config; throws ConfigError listing every problem. */
export function parseKeelConfig(raw: RawConfig): KeelConfig {
    const problems: ConfigProblem[] = [];
    const { stack, values } = raw;
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
            message: get("stage") !== undefined && get("stage") !== ""
                ? `'${stageValue}' is not a stage; expected one of ${STAGES.join(", ")}`
                : `stack '${stack}' is not named after a stage, so Keel cannot tell which defaults apply; expected one of ${STAGES.join(", ")}`,
            fix: fixFor(stack, "stage"),
        });
    }
    const defaults = stageDefaults(stage);

    // The database URL: secret config, or DATABASE_URL on dev.
    let url = "";
    let source: "config" | "env" = "config";
    const configured = get("databaseUrl");
    if (configured !== undefined) {
        url = configured;
        if (!raw.secretKeys.has(`${NAMESPACE}:databaseUrl`)) {
            problems.push({
                key: `${NAMESPACE}:databaseUrl`,
                message: "is stored in plain text in the stack file; a database URL holds a password and must be a secret",
                fix: `pulumi config set --secret ${NAMESPACE}:databaseUrl 'postgres://user:password@host:5432/db' --stack ${stack}`,
            });
        }
    } else if (stage === "dev" && raw.env.DATABASE_URL) {
        url = raw.env.DATABASE_URL;
        source = "env";
    } else {
        problems.push({
            key: `${NAMESPACE}:databaseUrl`,
            message:
                stage === "dev"
                    ? "is not set and DATABASE_URL is not in the environment; Keel needs a database to migrate"
                    : "is not set; Keel needs the direct connection URL of this stack's database",
            fix:
                `pulumi config set --secret ${NAMESPACE}:databaseUrl 'postgres://user:password@host:5432/db' --stack ${stack}` +
                (stage === "dev" ? " (or export DATABASE_URL)" : ""),
        });
    }
    if (url) {
        const reason = unusableUrlReason(url);
        if (reason) {
            problems.push({
                key: source === "env" ? "DATABASE_URL (environment)" : `${NAMESPACE}:databaseUrl`,
                message: reason,
                fix:
                    source === "env"
                        ? "export DATABASE_URL=postgres://user:password@host:5432/db"
                        : `pulumi config set --secret ${NAMESPACE}:databaseUrl 'postgres://user:password@host:5432/db' --stack ${stack}`,
            });
        }
    }

    // Migration settings.
    const migrationsRaw = get("migrations");
    const migrationsValue = migrationsRaw === undefined ? {} : parseJsonValue(migrationsRaw);
    const parsed = migrationsSchema.safeParse(migrationsValue);
    let migrations: MigrationConfig | undefined;
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            if (issue.code === "unrecognized_keys") {
                for (const k of issue.keys) {
                    problems.push({
                        key: `${NAMESPACE}:migrations.${k}`,
                        message: `unknown setting (known: ${Object.keys(migrationsSchema.shape).join(", ")})`,
                        fix: `pulumi config rm --path ${NAMESPACE}:migrations.${k} --stack ${stack}`,
                    });
                }
                continue;
            }
            const path = ["migrations", ...issue.path.map(String)].join(".");
            const received =
                issue.path.length && typeof migrationsValue === "object" && migrationsValue
                    ? ` (got ${JSON.stringify((migrationsValue as any)[issue.path[0] as string])})`
                    : ` (got ${JSON.stringify(migrationsValue)})`;
            problems.push({
                key: `${NAMESPACE}:${path}`,
                message: (issue.path.length ? issue.message : "expected an object of migration settings") + received,
                fix: fixFor(stack, issue.path.length ? path : "migrations.dir"),
            });
        }
    } else {
        const m = parsed.data;
        migrations = {
            dir: m.dir,
            historySchema: m.historySchema,
            lockTimeout: m.lockTimeout ?? defaults.migrations.lockTimeout,
            statementTimeout: m.statementTimeout ?? defaults.migrations.statementTimeout,
            lockWaitSeconds: m.lockWaitSeconds ?? defaults.migrations.lockWaitSeconds,
            allowMissing: m.allowMissing,
            outOfOrder: m.outOfOrder,
            baseline: m.baseline === undefined ? undefined : BigInt(m.baseline).toString(),
        };
    }

    if (problems.length || !migrations) throw new ConfigError(stack, problems);
    return { stack, stage, database: { url, source }, migrations };
}
