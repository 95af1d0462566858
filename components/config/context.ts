/**
 * What every config section's parser shares: one context (the stack, its stage
 * and defaults, the raw values, the problems found so far), JSON values as
 * `pulumi config` stores them, zod issues turned into problems with the key
 * path, the `npm run pulumi -- config set` command that fixes a key (with an example right
 * for the stack's stage), and the validators more than one section uses.
 * Pure: no Pulumi imports.
 */
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { ConfigProblem } from "../errors";
import { isPgDuration } from "../postgres/duration";
import { withFormat } from "./keyDocs";
import { MANUAL_STAGES, Stage, StageDefaults, WATCH_DEFAULTS } from "./stage";

export const NAMESPACE = "keel";

/** What a section parser reads and where it reports. */
export interface ConfigContext {
    stack: string;
    stage: Stage;
    /** The Pulumi project's name (names default resources). */
    project: string;
    defaults: StageDefaults;
    /** A raw value by key without the namespace (`migrations`, `databaseUrl`). */
    get(key: string): string | undefined;
    env: Record<string, string | undefined>;
    problems: ConfigProblem[];
    /** Whether missing API tokens are problems (not for scripts that only touch the database). */
    deployCredentials: boolean;
    /** Stacks that have a Pulumi.<stack>.yaml, when known. */
    knownStacks?: readonly string[];
    /** Those stacks' keel:stage as their files set it (stage.ts: stageOf decides), when known. */
    stackStages?: Readonly<Record<string, string | undefined>>;
    /** Keys present but unreadable where this runs (secrets read from a stack file without the passphrase): their values are ENCRYPTED_VALUE and are not checked. */
    encryptedKeys?: ReadonlySet<string>;
}

/** The value an encrypted key is given where it cannot be decrypted (scripts/lib/stackConfig.ts). */
export const ENCRYPTED_VALUE = "(encrypted in the stack file)";

/** A section's zod output with the keys the parser fills in (the stage's defaults, computed names) made required. */
export type Filled<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };

// ---- Validators more than one section uses ---------------------------------

export const duration = withFormat(
    z.string().refine(isPgDuration, { message: "expected a duration such as 5s, 250ms or 10min" }),
    "duration",
);
export const identifier = withFormat(
    z.string().regex(/^[a-z_][a-z0-9_]*$/, { message: "expected a lower-case SQL identifier such as app" }),
    "SQL identifier",
);
/** A stage named in config (a Neon project's owner): a preview owns nothing, it is made from its base by keel pr up. */
export const stageName = z.enum(MANUAL_STAGES);
export const envName = withFormat(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "expected an environment variable name such as API_URL" }),
    "variable name",
);
export const envMap = z.record(envName, z.string());
export const hostname = withFormat(
    z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
        message: "expected a host name such as api.example.com",
    }),
    "host name",
);
/** Fly app, Render service and Vercel project names: lower case, digits and dashes. */
export const serviceName = withFormat(
    z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, {
        message: "expected a name of lower-case letters, digits and dashes, such as my-app-prod",
    }),
    "service name",
);
export const urlPath = withFormat(
    z.string().regex(/^\/[^\s?#]*$/, { message: "expected a path starting with /, such as /healthz" }),
    "URL path",
);

/** True for an image pinned to a digest, or to a tag that names a version (it has a digit) and is not `latest`. */
export function isPinnedImage(ref: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
    const tag = /:([^/:@]+)$/.exec(ref)?.[1];
    return tag !== undefined && tag !== "latest" && /\d/.test(tag);
}

/** Deploys must be repeatable and rollbacks must know what they go back to: no `latest`, no bare name, no moving tag. */
export const pinnedImage = withFormat(
    z.string().refine(isPinnedImage, {
        message:
            "expected an image pinned to a version tag or digest, such as postgres:16.4-bookworm or registry.fly.io/my-app:1.4.2 (never latest, no tag, or a tag without a version)",
    }),
    "pinned image",
);

// ---- Fixes ------------------------------------------------------------------

/**
 * Example values for fix commands, by key path, right for the stage: a fix on
 * dev suggests dev's default, not prod's.
 */
export function examplesFor(stage: Stage, defaults: StageDefaults): Record<string, string> {
    return {
        stage,
        "migrations.dir": "migrations",
        "migrations.historySchema": "public",
        "migrations.lockTimeout": defaults.migrations.lockTimeout,
        "migrations.statementTimeout": defaults.migrations.statementTimeout,
        "migrations.lockWaitSeconds": String(defaults.migrations.lockWaitSeconds),
        "migrations.allowMissing": "true",
        "migrations.outOfOrder": "true",
        "migrations.baseline": "20240101000000",
        "migrations.backup": String(defaults.migrations.backup),
        "migrations.backupDir": "backups",
        "migrations.keepBackups": String(defaults.migrations.keepBackups),
        "migrations.backupRetentionDays": "7",
        "database.kind": defaults.database.suggestedKind,
        "database.docker.image": "postgres:16.4-bookworm",
        "database.docker.port": "5432",
        "database.local.port": "54329",
        "database.local.databaseName": "app",
        "database.local.user": "app",
        "database.neon.project.name": "my-app",
        "database.neon.project.ownedBy": "prod",
        "database.neon.project.regionId": "aws-us-east-2",
        "database.neon.project.pgVersion": "16",
        "database.neon.branch.name": stage === "prod" ? "main" : stage,
        "database.neon.branch.parent": "main",
        "database.neon.endpoint.minCu": "0.25",
        "database.neon.endpoint.maxCu": stage === "prod" ? "2" : "1",
        "database.neon.endpoint.suspendTimeoutSeconds": stage === "prod" ? "-1" : "300",
        "backend.kind": "fly",
        "backend.image": `registry.fly.io/my-app-${stage}:1.0.0`,
        "backend.build.context": ".",
        "backend.build.dockerfile": "Dockerfile",
        "backend.port": "8080",
        "backend.healthCheck.path": "/healthz",
        "backend.healthCheck.timeoutSeconds": "180",
        "backend.watch.minutes": String(defaults.backend.watchMinutes),
        "backend.watch.intervalSeconds": String(WATCH_DEFAULTS.intervalSeconds),
        "backend.watch.failures": String(WATCH_DEFAULTS.failures),
        "backend.fly.app": `my-app-${stage}`,
        "backend.fly.org": "personal",
        "backend.fly.regions[0].region": "iad",
        "backend.fly.regions[0].count": stage === "prod" ? "2" : "1",
        "backend.fly.strategy": defaults.backend.strategy,
        "backend.fly.size.memoryMb": "512",
        "backend.render.name": `my-app-${stage}`,
        "backend.render.ownerId": "tea-xxxxxxxxxxxxxxxxxxxx",
        "backend.render.plan": "starter",
        "backend.render.region": "oregon",
        "backend.render.instances": String(defaults.backend.instances),
        "frontend.name": `my-app-${stage}-web`,
        "frontend.framework": "nextjs",
        "frontend.rootDirectory": "web",
        "frontend.git.repo": "my-org/my-app",
        "frontend.git.productionBranch": stage === "prod" ? "main" : stage,
        "frontend.backendUrlEnv": "NEXT_PUBLIC_API_URL",
        "github.owner": "my-org",
        "github.repository": "my-app",
        "github.ownedBy": "prod",
        "github.branches.prod": "main",
        "github.branches.staging": "staging",
        "github.protection.kind": "ruleset",
        "github.protection.requiredApprovals": "0",
        "github.state.backendUrl": "s3://my-app-pulumi-state?region=us-east-1",
        "github.environment.waitTimerMinutes": "0",
    };
}

/** `npm run pulumi -- config set [--secret] [--path] keel:<path> <example> --stack <stack>` */
export function configFix(stack: string, path: string, example: string | undefined, secret = false): string {
    const usePath = path.includes(".") ? " --path" : "";
    return `npm run pulumi -- config set${secret ? " --secret" : ""}${usePath} ${NAMESPACE}:${path} ${example ?? "<value>"} --stack ${stack}`;
}

/** The fix for a key, with the stage's example value. */
export function fixFor(ctx: ConfigContext, path: string, secret = false): string {
    return configFix(ctx.stack, path, examplesFor(ctx.stage, ctx.defaults)[path], secret);
}

// ---- Values -----------------------------------------------------------------

export function parseJsonValue(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

export function valueAt(root: unknown, path: PropertyKey[]): unknown {
    let v: any = root;
    for (const p of path) v = v === null || typeof v !== "object" ? undefined : v[p as any];
    return v;
}

/** Validates one object-valued key with a zod schema, turning every issue into a problem. */
export function parseSection<T extends z.ZodTypeAny>(
    ctx: ConfigContext,
    key: string,
    schema: T,
    options: { raw?: string; secret?: boolean; examples?: Record<string, string> } = {},
): z.infer<T> | undefined {
    const raw = "raw" in options ? options.raw : ctx.get(key);
    const examples = options.examples ?? examplesFor(ctx.stage, ctx.defaults);
    const secret = options.secret ?? false;
    const value = raw === undefined ? {} : parseJsonValue(raw);
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
        const where = [key, ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
            const known = issue.path.length === 0 && "shape" in schema ? ` (known: ${Object.keys((schema as any).shape).join(", ")})` : "";
            for (const k of issue.keys) {
                ctx.problems.push({
                    key: `${NAMESPACE}:${where}.${k}`,
                    message: `unknown setting${known}`,
                    fix: `npm run pulumi -- config rm --path ${NAMESPACE}:${where}.${k} --stack ${ctx.stack}`,
                });
            }
            continue;
        }
        const example = Object.keys(examples).find((e) => e.startsWith(`${key}.`)) ?? `${key}.<setting>`;
        const got = secret ? "" : ` (got ${JSON.stringify(valueAt(value, issue.path))})`;
        ctx.problems.push({
            key: `${NAMESPACE}:${where}`,
            message: `${issue.path.length ? issue.message : `expected an object of ${key} settings`}${got}`,
            fix: issue.path.length
                ? configFix(ctx.stack, where, examples[where], secret)
                : `npm run pulumi -- config rm ${NAMESPACE}:${key} --stack ${ctx.stack}, then set each setting with --path, e.g. ${configFix(ctx.stack, example, examples[example], secret)}`,
        });
    }
    return undefined;
}

/** Stacks with a Pulumi.<stack>.yaml in the project directory. */
/** Each stack file's keel:stage, as written (undefined where it sets none). */
export function stagesIn(root: string): Record<string, string | undefined> {
    return Object.fromEntries(
        stacksIn(root).map((stack) => {
            let stage: unknown;
            try {
                const file = fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`)) ? `Pulumi.${stack}.yaml` : `Pulumi.${stack}.yml`;
                stage = parseYaml(fs.readFileSync(path.join(root, file), "utf8"))?.config?.["keel:stage"];
            } catch {
                // An unreadable stack file: its own stack's validation says why.
            }
            return [stack, typeof stage === "string" && stage ? stage : undefined];
        }),
    );
}

export function stacksIn(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}
