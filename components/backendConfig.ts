/**
 * `keel:backend` (Fly.io or Render) and `keel:frontend` (Vercel): parsed and
 * validated with the rest of the stack's config, every problem reported at
 * once with the command that fixes it. Pure: no Pulumi imports.
 */
import { z } from "zod";
import type { ConfigProblem } from "./errors";
import { configFix, NAMESPACE, parseConfigSection, parseJsonValue, valueAt } from "./configSupport";
import type { Stage } from "./stage";
import type { StageDefaults } from "./stage";

export type DeployStrategy = "rolling" | "bluegreen" | "immediate";

/** Where the image comes from: a pushed reference, or a Dockerfile built by `pulumi up`. */
export type ImageSource =
    | { kind: "prebuilt"; image: string }
    | { kind: "build"; context: string; dockerfile: string; platform: string; registry?: { server: string; username: string; repository: string } };

export interface HealthCheckConfig {
    path: string;
    /** Check this URL instead of the platform's host name plus path (a private host, or a proxy in front). */
    url?: string;
    /** How long `pulumi up` waits for the public URL to answer 2xx after a deploy. */
    timeoutSeconds: number;
    intervalSeconds: number;
}

export interface FlyBackendConfig {
    app: string;
    org: string;
    regions: { region: string; count: number }[];
    guest: { cpuKind: "shared" | "performance"; cpus: number; memoryMb: number };
    strategy: DeployStrategy;
    autostop: "off" | "stop" | "suspend";
    autostart: boolean;
    minMachinesRunning: number;
    restart: { policy: "no" | "always" | "on-failure"; maxRetries?: number };
    processGroup: string;
    sharedIpv4: boolean;
    ipv6: boolean;
    domains: string[];
    /** Per machine: start plus checks passing. */
    machineHealthTimeoutSeconds: number;
}

export interface RenderBackendConfig {
    name: string;
    ownerId: string;
    plan: string;
    region: string;
    instances: number;
    preDeployCommand?: string;
    domains: string[];
    /** Deploy from the repository (Render builds the Dockerfile) instead of an image. */
    repo?: { url: string; branch: string; dockerfilePath?: string; dockerContext?: string };
    registryCredentialId?: string;
    deployTimeoutSeconds: number;
}

interface BackendCommon {
    image?: ImageSource;
    /** The port the server listens on inside the container. */
    port: number;
    /** Plain environment variables. */
    env: Record<string, string>;
    /** Secret environment variables, from the secret key keel:backendSecrets. */
    secrets: Record<string, string>;
    /** The variable the database's pooled URL is given under (empty: not wired). */
    databaseUrlEnv: string;
    healthCheck: HealthCheckConfig;
    /** Deleting the protected (prod) app or service is meant. */
    allowDelete: boolean;
}

export type BackendConfig = (BackendCommon & { kind: "fly"; fly: FlyBackendConfig }) | (BackendCommon & { kind: "render"; render: RenderBackendConfig });

export interface FrontendConfig {
    name: string;
    teamId?: string;
    framework?: string;
    rootDirectory?: string;
    buildCommand?: string;
    installCommand?: string;
    outputDirectory?: string;
    git?: { repo: string; productionBranch: string };
    /** Plain variables, for production and preview. */
    env: Record<string, string>;
    /** Sensitive variables, from the secret key keel:frontendSecrets. */
    secrets: Record<string, string>;
    /** The variable that carries the backend's public URL (empty: none). */
    backendUrlEnv: string;
    domains: string[];
    /** Checked after the backend's own gate; empty: no check. */
    healthPath: string;
}

export const BACKEND_EXAMPLES: Record<string, string> = {
    "backend.kind": "fly",
    "backend.image": "registry.fly.io/my-app:1.0.0",
    "backend.build.context": ".",
    "backend.build.dockerfile": "Dockerfile",
    "backend.port": "8080",
    "backend.healthCheck.path": "/healthz",
    "backend.healthCheck.timeoutSeconds": "120",
    "backend.fly.app": "my-app-prod",
    "backend.fly.org": "personal",
    "backend.fly.regions[0].region": "iad",
    "backend.fly.regions[0].count": "2",
    "backend.fly.strategy": "rolling",
    "backend.fly.size.memoryMb": "512",
    "backend.render.name": "my-app-prod",
    "backend.render.ownerId": "tea-xxxxxxxxxxxxxxxxxxxx",
    "backend.render.plan": "starter",
    "backend.render.region": "oregon",
    "backend.render.instances": "2",
    "frontend.name": "my-app-web",
    "frontend.framework": "nextjs",
    "frontend.rootDirectory": "web",
    "frontend.git.repo": "my-org/my-app",
    "frontend.git.productionBranch": "main",
    "frontend.backendUrlEnv": "NEXT_PUBLIC_API_URL",
};

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "expected an environment variable name such as API_URL" });
const envMap = z.record(envName, z.string());
const hostname = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { message: "expected a host name such as api.example.com" });
const urlPath = z.string().regex(/^\/[^\s?#]*$/, { message: "expected a path starting with /, such as /healthz" });
/** Fly app and Render service names: lower case, digits and dashes. */
const serviceName = z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { message: "expected a name of lower-case letters, digits and dashes, such as my-app-prod" });
/** A reference pinned to a tag or digest; `latest` would make deploys unrepeatable and rollbacks meaningless. */
const pinnedImage = z.string().refine((ref) => /@sha256:[0-9a-f]{64}$/.test(ref) || (/:[^/:@]+$/.test(ref) && !/:latest$/.test(ref)), {
    message: "expected an image pinned to a tag or digest, such as registry.fly.io/my-app:1.4.2 (never latest or no tag: a rollback must know what it goes back to)",
});

const backendSchema = z
    .object({
        kind: z.enum(["fly", "render"]).optional(),
        image: pinnedImage.optional(),
        build: z
            .object({
                context: z.string().min(1).default("."),
                dockerfile: z.string().min(1).default("Dockerfile"),
                platform: z.string().default("linux/amd64"),
                registry: z.object({ server: z.string().min(1), username: z.string().min(1), repository: z.string().min(1) }).strict().optional(),
            })
            .strict()
            .optional(),
        port: z.number().int().min(1).max(65535).default(8080),
        env: envMap.default({}),
        databaseUrlEnv: z.union([envName, z.literal("")]).default("DATABASE_URL"),
        healthCheck: z
            .object({
                path: urlPath.default("/healthz"),
                url: z.string().regex(/^https?:\/\/[^\s]+$/, { message: "expected an absolute http(s) URL such as https://api.example.com/healthz" }).optional(),
                timeoutSeconds: z.number().int().min(5).max(3600).default(180),
                intervalSeconds: z.number().int().min(1).max(60).default(5),
            })
            .strict()
            .default({ path: "/healthz", timeoutSeconds: 180, intervalSeconds: 5 }),
        allowDelete: z.boolean().default(false),
        fly: z
            .object({
                app: serviceName.optional(),
                org: z.string().min(1).default("personal"),
                region: z.string().regex(/^[a-z]{3}$/, { message: "expected a Fly region code such as iad" }).optional(),
                count: z.number().int().min(1).max(20).optional(),
                regions: z
                    .array(z.object({ region: z.string().regex(/^[a-z]{3}$/, { message: "expected a Fly region code such as iad" }), count: z.number().int().min(1).max(20).default(1) }).strict())
                    .min(1)
                    .optional(),
                size: z
                    .object({
                        cpuKind: z.enum(["shared", "performance"]).default("shared"),
                        cpus: z.number().int().min(1).max(16).default(1),
                        memoryMb: z.number().int().min(256).max(131072).multipleOf(256).default(512),
                    })
                    .strict()
                    .default({ cpuKind: "shared", cpus: 1, memoryMb: 512 }),
                strategy: z.enum(["rolling", "bluegreen", "immediate"]).optional(),
                autostop: z.enum(["off", "stop", "suspend"]).optional(),
                autostart: z.boolean().default(true),
                minMachinesRunning: z.number().int().min(0).max(20).optional(),
                restart: z
                    .object({ policy: z.enum(["no", "always", "on-failure"]).default("on-failure"), maxRetries: z.number().int().min(0).max(100).optional() })
                    .strict()
                    .default({ policy: "on-failure" }),
                processGroup: z.string().regex(/^[a-z][a-z0-9_-]*$/).default("app"),
                sharedIpv4: z.boolean().default(true),
                ipv6: z.boolean().default(true),
                domains: z.array(hostname).default([]),
                machineHealthTimeoutSeconds: z.number().int().min(10).max(1800).default(300),
            })
            .strict()
            .optional(),
        render: z
            .object({
                name: serviceName.optional(),
                ownerId: z.string().regex(/^(tea|usr)-[a-z0-9]+$/, { message: "expected a workspace id such as tea-xxxxxxxxxxxxxxxxxxxx (Render dashboard > Workspace settings)" }).optional(),
                plan: z.enum(["free", "starter", "standard", "pro", "pro_plus", "pro_max", "pro_ultra"]).default("starter"),
                region: z.enum(["oregon", "ohio", "virginia", "frankfurt", "singapore"]).default("oregon"),
                instances: z.number().int().min(1).max(100).optional(),
                preDeployCommand: z.string().min(1).optional(),
                domains: z.array(hostname).default([]),
                repo: z
                    .object({
                        url: z.string().regex(/^https:\/\/(github|gitlab)\.com\/[^/\s]+\/[^/\s]+$/, { message: "expected a repository URL such as https://github.com/my-org/my-app" }),
                        branch: z.string().min(1),
                        dockerfilePath: z.string().min(1).optional(),
                        dockerContext: z.string().min(1).optional(),
                    })
                    .strict()
                    .optional(),
                registryCredentialId: z.string().min(1).optional(),
                deployTimeoutSeconds: z.number().int().min(60).max(7200).default(1200),
            })
            .strict()
            .optional(),
    })
    .strict();

const frontendSchema = z
    .object({
        name: serviceName.optional(),
        teamId: z.string().min(1).optional(),
        framework: z.string().min(1).optional(),
        rootDirectory: z.string().min(1).optional(),
        buildCommand: z.string().min(1).optional(),
        installCommand: z.string().min(1).optional(),
        outputDirectory: z.string().min(1).optional(),
        git: z
            .object({
                repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { message: "expected owner/name, such as my-org/my-app" }),
                productionBranch: z.string().min(1).optional(),
            })
            .strict()
            .optional(),
        env: envMap.default({}),
        backendUrlEnv: z.union([envName, z.literal("")]).default("NEXT_PUBLIC_API_URL"),
        domains: z.array(hostname).default([]),
        healthPath: z.union([urlPath, z.literal("")]).default("/"),
    })
    .strict();

const secretsSchema = envMap;

export interface SectionContext {
    stack: string;
    stage: Stage;
    project: string;
    defaults: StageDefaults;
    get: (key: string) => string | undefined;
    env: Record<string, string | undefined>;
    problems: ConfigProblem[];
    /** Whether missing API tokens are problems (not for scripts that only touch the database). */
    deployCredentials: boolean;
}

function fix(ctx: SectionContext, path: string): string {
    return configFix(ctx.stack, path, BACKEND_EXAMPLES[path]);
}

/** A secret object key (keel:backendSecrets): values never appear in messages. */
function parseSecrets(ctx: SectionContext, key: string): Record<string, string> {
    const raw = ctx.get(key);
    if (raw === undefined) return {};
    const parsed = parseConfigSection(ctx.stack, key, secretsSchema, raw, ctx.problems, { [`${key}.API_KEY`]: "<value>" }, true);
    return parsed ?? {};
}

function credentialProblem(ctx: SectionContext, configKey: string, envKey: string, what: string, howToGet: string): void {
    if (ctx.deployCredentials && ctx.get(configKey) === undefined && !ctx.env[envKey]) {
        ctx.problems.push({
            key: `${NAMESPACE}:${configKey}`,
            message: `is not set and ${envKey} is not in the environment; ${what}`,
            fix: `pulumi config set --secret ${NAMESPACE}:${configKey} <${howToGet}> --stack ${ctx.stack} (or export ${envKey})`,
        });
    }
}

/** keel:backend; undefined when the stack has no backend (or it is invalid: then problems say why). */
export function parseBackend(ctx: SectionContext): BackendConfig | undefined {
    const raw = ctx.get("backend");
    const secrets = parseSecrets(ctx, "backendSecrets");
    if (raw === undefined) {
        if (Object.keys(secrets).length) {
            ctx.problems.push({
                key: `${NAMESPACE}:backendSecrets`,
                message: "is set but the stack has no backend (keel:backend)",
                fix: `${fix(ctx, "backend.kind")}, or pulumi config rm ${NAMESPACE}:backendSecrets --stack ${ctx.stack}`,
            });
        }
        return undefined;
    }
    const before = ctx.problems.length;
    const section = parseConfigSection(ctx.stack, "backend", backendSchema, raw, ctx.problems, BACKEND_EXAMPLES);
    // Kind-level checks run even when a setting is invalid, so every problem shows at once.
    const rawSection = parseJsonValue(raw);
    const kind = section?.kind ?? backendSchema.shape.kind.safeParse(valueAt(rawSection, ["kind"])).data;
    if (!kind) {
        ctx.problems.push({ key: `${NAMESPACE}:backend.kind`, message: "is not set; expected fly or render", fix: fix(ctx, "backend.kind") });
        return undefined;
    }
    const has = (k: string) => valueAt(rawSection, [k]) !== undefined;
    const other = kind === "fly" ? "render" : "fly";
    if (has(other)) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.${other}`,
            message: `settings for '${other}' but the backend kind is '${kind}'`,
            fix: `pulumi config rm --path ${NAMESPACE}:backend.${other} --stack ${ctx.stack} (or set ${NAMESPACE}:backend.kind ${other})`,
        });
    }
    const fromRepo = kind === "render" && valueAt(rawSection, ["render", "repo"]) !== undefined;
    if (!has("image") && !has("build") && !fromRepo) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.image`,
            message: `is not set and neither is ${NAMESPACE}:backend.build; the ${kind} backend needs an image to run${kind === "render" ? " (or render.repo to build from)" : ""}`,
            fix: `${fix(ctx, "backend.image")} (or build one from a Dockerfile: ${fix(ctx, "backend.build.dockerfile")})`,
        });
    }
    if (has("image") && (has("build") || fromRepo)) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.image`,
            message: `is set together with ${has("build") ? "backend.build" : "backend.render.repo"}; choose one source for the backend`,
            fix: `pulumi config rm --path ${NAMESPACE}:backend.${has("build") ? "build" : "image"} --stack ${ctx.stack}`,
        });
    }
    if (kind === "fly") {
        credentialProblem(ctx, "flyApiToken", "FLY_API_TOKEN", "the fly backend needs a Fly.io API token", "token from `fly tokens create org`");
        const region = valueAt(rawSection, ["fly", "region"]);
        const regions = valueAt(rawSection, ["fly", "regions"]);
        if (region === undefined && regions === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.fly.regions`,
                message: "is not set; the fly backend needs at least one region to run machines in (fly platform regions lists them)",
                fix: `${fix(ctx, "backend.fly.regions[0].region")} (and ${fix(ctx, "backend.fly.regions[0].count")})`,
            });
        } else if (region !== undefined && regions !== undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.fly.region`,
                message: "is set together with backend.fly.regions; use region/count for one region or regions for several",
                fix: `pulumi config rm --path ${NAMESPACE}:backend.fly.region --stack ${ctx.stack}`,
            });
        }
    } else {
        credentialProblem(ctx, "renderApiKey", "RENDER_API_KEY", "the render backend needs a Render API key", "key from the Render dashboard");
        if (valueAt(rawSection, ["render", "ownerId"]) === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.render.ownerId`,
                message: "is not set; Render needs the workspace that owns the service",
                fix: fix(ctx, "backend.render.ownerId"),
            });
        }
        if (has("build") && valueAt(rawSection, ["build", "registry"]) === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.build.registry`,
                message: "is not set; an image built for Render is pushed to your registry (Render has none), so Keel needs its server, username and repository",
                fix: `pulumi config set --path ${NAMESPACE}:backend.build.registry.server ghcr.io --stack ${ctx.stack} (and .username, .repository; the password: pulumi config set --secret ${NAMESPACE}:registryPassword <token>)`,
            });
        } else if (has("build") && ctx.deployCredentials && ctx.get("registryPassword") === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:registryPassword`,
                message: "is not set; pushing the built image to backend.build.registry needs its password or token",
                fix: `pulumi config set --secret ${NAMESPACE}:registryPassword <token> --stack ${ctx.stack}`,
            });
        }
    }
    if (kind === "fly" && valueAt(rawSection, ["fly", "strategy"]) === "immediate" && ctx.stage !== "dev") {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.fly.strategy`,
            message: `is 'immediate' on ${ctx.stage}: it replaces every machine at once without waiting for health, which is for dev only`,
            fix: `${fix(ctx, "backend.fly.strategy")} (or bluegreen)`,
        });
    }
    if (!section || ctx.problems.length > before) return undefined;

    const common: BackendCommon = {
        image: section.image
            ? { kind: "prebuilt", image: section.image }
            : section.build
              ? { kind: "build", context: section.build.context, dockerfile: section.build.dockerfile, platform: section.build.platform, registry: section.build.registry }
              : undefined,
        port: section.port,
        env: section.env,
        secrets,
        databaseUrlEnv: section.databaseUrlEnv,
        healthCheck: section.healthCheck,
        allowDelete: section.allowDelete,
    };
    const overlap = Object.keys(section.env).filter((k) => k in secrets || k === section.databaseUrlEnv);
    for (const k of overlap) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.env.${k}`,
            message: `is also ${k === section.databaseUrlEnv ? "the database URL's variable (backend.databaseUrlEnv)" : "a secret in keel:backendSecrets"}; one value per variable`,
            fix: `pulumi config rm --path ${NAMESPACE}:backend.env.${k} --stack ${ctx.stack}`,
        });
    }
    if (section.databaseUrlEnv && section.databaseUrlEnv in secrets) {
        ctx.problems.push({
            key: `${NAMESPACE}:backendSecrets.${section.databaseUrlEnv}`,
            message: "is the database URL's variable, which Keel wires from the stack's database",
            fix: `pulumi config rm --path ${NAMESPACE}:backendSecrets.${section.databaseUrlEnv} --stack ${ctx.stack}`,
        });
    }
    const defaults = ctx.defaults.backend;
    const name = `${ctx.project}-${ctx.stack}`;

    if (kind === "fly") {
        const f = section.fly ?? backendSchema.shape.fly.unwrap().parse({ region: "iad" });
        const regions = f.regions ?? [{ region: f.region!, count: f.count ?? 1 }];
        const seen = new Set<string>();
        for (const r of regions) {
            if (seen.has(r.region)) {
                ctx.problems.push({
                    key: `${NAMESPACE}:backend.fly.regions`,
                    message: `lists region '${r.region}' twice; give each region once with its count`,
                    fix: `edit keel:backend.fly.regions in Pulumi.${ctx.stack}.yaml`,
                });
            }
            seen.add(r.region);
        }
        const strategy = f.strategy ?? defaults.strategy;
        const autostop = f.autostop ?? defaults.autostop;
        if (ctx.problems.length > before) return undefined;
        return {
            ...common,
            kind,
            fly: {
                app: f.app ?? name,
                org: f.org,
                regions,
                guest: f.size,
                strategy,
                autostop,
                autostart: f.autostart,
                minMachinesRunning: f.minMachinesRunning ?? (autostop === "off" ? 0 : defaults.minMachinesRunning),
                restart: f.restart,
                processGroup: f.processGroup,
                sharedIpv4: f.sharedIpv4,
                ipv6: f.ipv6,
                domains: f.domains,
                machineHealthTimeoutSeconds: f.machineHealthTimeoutSeconds,
            },
        };
    }
    const r = section.render ?? backendSchema.shape.render.unwrap().parse({});
    if (ctx.problems.length > before) return undefined;
    return {
        ...common,
        kind,
        render: {
            name: r.name ?? name,
            ownerId: r.ownerId!,
            plan: r.plan,
            region: r.region,
            instances: r.instances ?? defaults.instances,
            preDeployCommand: r.preDeployCommand,
            domains: r.domains,
            repo: r.repo,
            registryCredentialId: r.registryCredentialId,
            deployTimeoutSeconds: r.deployTimeoutSeconds,
        },
    };
}

/** keel:frontend; undefined when the stack has no frontend. */
export function parseFrontend(ctx: SectionContext, backend: BackendConfig | undefined, hasBackendKey: boolean): FrontendConfig | undefined {
    const raw = ctx.get("frontend");
    const secrets = parseSecrets(ctx, "frontendSecrets");
    if (raw === undefined) {
        if (Object.keys(secrets).length) {
            ctx.problems.push({
                key: `${NAMESPACE}:frontendSecrets`,
                message: "is set but the stack has no frontend (keel:frontend)",
                fix: `${fix(ctx, "frontend.name")}, or pulumi config rm ${NAMESPACE}:frontendSecrets --stack ${ctx.stack}`,
            });
        }
        return undefined;
    }
    const before = ctx.problems.length;
    const section = parseConfigSection(ctx.stack, "frontend", frontendSchema, raw, ctx.problems, BACKEND_EXAMPLES);
    credentialProblem(ctx, "vercelApiToken", "VERCEL_API_TOKEN", "the frontend needs a Vercel API token", "token from Vercel > Account settings > Tokens");
    if (!section) return undefined;
    if (section.backendUrlEnv && !backend && !hasBackendKey) {
        ctx.problems.push({
            key: `${NAMESPACE}:frontend.backendUrlEnv`,
            message: `is '${section.backendUrlEnv}' but the stack has no backend whose URL it could carry`,
            fix: `pulumi config set --path ${NAMESPACE}:frontend.backendUrlEnv '' --stack ${ctx.stack} (or configure keel:backend)`,
        });
    }
    for (const k of Object.keys(section.env)) {
        if (k in secrets || k === section.backendUrlEnv) {
            ctx.problems.push({
                key: `${NAMESPACE}:frontend.env.${k}`,
                message: `is also ${k === section.backendUrlEnv ? "the backend URL's variable (frontend.backendUrlEnv)" : "a secret in keel:frontendSecrets"}; one value per variable`,
                fix: `pulumi config rm --path ${NAMESPACE}:frontend.env.${k} --stack ${ctx.stack}`,
            });
        }
    }
    // Browser-exposed prefixes would ship a secret to every visitor.
    for (const k of Object.keys(secrets)) {
        if (/^(NEXT_PUBLIC_|VITE_|REACT_APP_|NUXT_PUBLIC_|PUBLIC_|EXPO_PUBLIC_)/.test(k)) {
            ctx.problems.push({
                key: `${NAMESPACE}:frontendSecrets.${k}`,
                message: "has a browser-exposed prefix: the framework inlines it into the public bundle, so it is no secret",
                fix: `move it to keel:frontend.env if it is public, or rename it without the prefix: pulumi config rm --path ${NAMESPACE}:frontendSecrets.${k} --stack ${ctx.stack}`,
            });
        }
    }
    if (ctx.problems.length > before) return undefined;
    return {
        name: section.name ?? `${ctx.project}-${ctx.stack}-web`,
        teamId: section.teamId,
        framework: section.framework,
        rootDirectory: section.rootDirectory,
        buildCommand: section.buildCommand,
        installCommand: section.installCommand,
        outputDirectory: section.outputDirectory,
        git: section.git ? { repo: section.git.repo, productionBranch: section.git.productionBranch ?? (ctx.stage === "prod" ? "main" : ctx.stack) } : undefined,
        env: section.env,
        secrets,
        backendUrlEnv: section.backendUrlEnv,
        domains: section.domains,
        healthPath: section.healthPath,
    };
}
