/**
 * `keel:backend`: the API service on Fly.io or Render, where its image comes
 * from, its environment and secrets, the health gate, and each platform's
 * settings with the stage's defaults. Pure: no Pulumi imports.
 */
import { z } from "zod";
import {
    ConfigContext,
    envMap,
    envName,
    fixFor,
    hostname,
    NAMESPACE,
    parseJsonValue,
    parseSection,
    pinnedImage,
    serviceName,
    urlPath,
    valueAt,
} from "./context";
import { WATCH_DEFAULTS, WATCH_MAX_MINUTES } from "./stage";
import { physicalName } from "../naming";
import { credentialProblem, parseSecrets } from "./secrets";

export type DeployStrategy = "rolling" | "bluegreen" | "immediate";

/** Where the image comes from: a pushed reference, or a Dockerfile built by `pulumi up`. */
export type ImageSource =
    | { kind: "prebuilt"; image: string }
    | {
          kind: "build";
          context: string;
          dockerfile: string;
          platform: string;
          registry?: { server: string; username: string; repository: string };
      };

export interface HealthCheckConfig {
    path: string;
    /** Check this URL instead of the platform's host name plus path (a private host, or a proxy in front). */
    url?: string;
    /** How long `pulumi up` waits for the public URL to answer 2xx after a deploy. */
    timeoutSeconds: number;
    intervalSeconds: number;
}

/**
 * After a successful `pulumi up` and health check in CI, deploy.yml probes the stack's health
 * URLs every `intervalSeconds` for `minutes`; `failures` failed probes in a row roll the stack
 * back to its previous successful version (`npm run rollback -- --stack <s> --previous --yes`).
 */
export interface WatchConfig {
    /** 0: no watch (the default outside prod). */
    minutes: number;
    intervalSeconds: number;
    /** Consecutive failed probes that roll back. */
    failures: number;
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
    /** The watch after a CI deploy (minutes from the stage's defaults: 5 on prod, 0 elsewhere). */
    watch: WatchConfig;
    /** Deleting the protected (prod) app or service is meant. */
    allowDelete: boolean;
}

export type BackendConfig =
    (BackendCommon & { kind: "fly"; fly: FlyBackendConfig }) | (BackendCommon & { kind: "render"; render: RenderBackendConfig });

export const backendSchema = z
    .object({
        kind: z.enum(["fly", "render"]).optional(),
        image: pinnedImage.optional(),
        build: z
            .object({
                context: z.string().min(1).default("."),
                dockerfile: z.string().min(1).default("Dockerfile"),
                platform: z.string().default("linux/amd64"),
                registry: z
                    .object({ server: z.string().min(1), username: z.string().min(1), repository: z.string().min(1) })
                    .strict()
                    .optional(),
            })
            .strict()
            .optional(),
        port: z.number().int().min(1).max(65535).default(8080),
        env: envMap.default({}),
        databaseUrlEnv: z.union([envName, z.literal("")]).default("DATABASE_URL"),
        healthCheck: z
            .object({
                path: urlPath.default("/healthz"),
                url: z
                    .string()
                    .regex(/^https?:\/\/[^\s]+$/, { message: "expected an absolute http(s) URL such as https://api.example.com/healthz" })
                    .optional(),
                timeoutSeconds: z.number().int().min(5).max(3600).default(180),
                intervalSeconds: z.number().int().min(1).max(60).default(5),
            })
            .strict()
            .default({ path: "/healthz", timeoutSeconds: 180, intervalSeconds: 5 }),
        watch: z
            .object({
                minutes: z.number().int().min(0).max(WATCH_MAX_MINUTES).optional(),
                intervalSeconds: z.number().int().min(5).max(300).default(WATCH_DEFAULTS.intervalSeconds),
                failures: z.number().int().min(1).max(20).default(WATCH_DEFAULTS.failures),
            })
            .strict()
            .default({ ...WATCH_DEFAULTS }),
        allowDelete: z.boolean().default(false),
        fly: z
            .object({
                app: serviceName.optional(),
                org: z.string().min(1).default("personal"),
                region: z
                    .string()
                    .regex(/^[a-z]{3}$/, { message: "expected a Fly region code such as iad" })
                    .optional(),
                count: z.number().int().min(1).max(20).optional(),
                regions: z
                    .array(
                        z
                            .object({
                                region: z.string().regex(/^[a-z]{3}$/, { message: "expected a Fly region code such as iad" }),
                                count: z.number().int().min(1).max(20).default(1),
                            })
                            .strict(),
                    )
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
                    .object({
                        policy: z.enum(["no", "always", "on-failure"]).default("on-failure"),
                        maxRetries: z.number().int().min(0).max(100).optional(),
                    })
                    .strict()
                    .default({ policy: "on-failure" }),
                processGroup: z
                    .string()
                    .regex(/^[a-z][a-z0-9_-]*$/)
                    .default("app"),
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
                ownerId: z
                    .string()
                    .regex(/^(tea|usr)-[a-z0-9]+$/, {
                        message: "expected a workspace id such as tea-xxxxxxxxxxxxxxxxxxxx (Render dashboard > Workspace settings)",
                    })
                    .optional(),
                plan: z.enum(["free", "starter", "standard", "pro", "pro_plus", "pro_max", "pro_ultra"]).default("starter"),
                region: z.enum(["oregon", "ohio", "virginia", "frankfurt", "singapore"]).default("oregon"),
                instances: z.number().int().min(1).max(100).optional(),
                preDeployCommand: z.string().min(1).optional(),
                domains: z.array(hostname).default([]),
                repo: z
                    .object({
                        url: z.string().regex(/^https:\/\/(github|gitlab)\.com\/[^/\s]+\/[^/\s]+$/, {
                            message: "expected a repository URL such as https://github.com/my-org/my-app",
                        }),
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

/** Settings that make the watch long enough for its failures, each one `npm run pulumi -- config set` (the first is the simplest). */
function watchFixes(stack: string, w: WatchConfig): string[] {
    const set = (k: string, v: number) => `npm run pulumi -- config set --path ${NAMESPACE}:backend.watch.${k} ${v} --stack ${stack}`;
    const fixes: string[] = [];
    const minutes = Math.ceil((w.failures * w.intervalSeconds) / 60);
    if (minutes <= WATCH_MAX_MINUTES) fixes.push(set("minutes", minutes));
    const failures = Math.floor((w.minutes * 60) / w.intervalSeconds);
    if (failures >= 1) fixes.push(set("failures", failures));
    const interval = Math.floor((w.minutes * 60) / w.failures);
    if (interval >= 5) fixes.push(set("intervalSeconds", interval));
    // Always possible: the defaults take one minute.
    if (fixes.length === 0)
        fixes.push(`${set("failures", WATCH_DEFAULTS.failures)} and ${set("intervalSeconds", WATCH_DEFAULTS.intervalSeconds)}`);
    return fixes;
}

/** keel:backend; undefined when the stack has no backend (or it is invalid: then problems say why). */
export function parseBackend(ctx: ConfigContext): BackendConfig | undefined {
    const raw = ctx.get("backend");
    const secrets = parseSecrets(ctx, "backendSecrets");
    if (raw === undefined) {
        if (Object.keys(secrets).length) {
            ctx.problems.push({
                key: `${NAMESPACE}:backendSecrets`,
                message: "is set but the stack has no backend (keel:backend)",
                fix: `${fixFor(ctx, "backend.kind")}, or npm run pulumi -- config rm ${NAMESPACE}:backendSecrets --stack ${ctx.stack}`,
            });
        }
        return undefined;
    }
    const before = ctx.problems.length;
    const section = parseSection(ctx, "backend", backendSchema);
    // Kind-level checks run even when a setting is invalid, so every problem shows at once.
    const rawSection = parseJsonValue(raw);
    const kind = section?.kind ?? backendSchema.shape.kind.safeParse(valueAt(rawSection, ["kind"])).data;
    if (!kind) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.kind`,
            message: "is not set; expected fly or render",
            fix: fixFor(ctx, "backend.kind"),
        });
        return undefined;
    }
    const has = (k: string) => valueAt(rawSection, [k]) !== undefined;
    const other = kind === "fly" ? "render" : "fly";
    if (has(other)) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.${other}`,
            message: `settings for '${other}' but the backend kind is '${kind}'`,
            fix: `npm run pulumi -- config rm --path ${NAMESPACE}:backend.${other} --stack ${ctx.stack} (or set ${NAMESPACE}:backend.kind ${other})`,
        });
    }
    const fromRepo = kind === "render" && valueAt(rawSection, ["render", "repo"]) !== undefined;
    if (!has("image") && !has("build") && !fromRepo) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.image`,
            message: `is not set and neither is ${NAMESPACE}:backend.build; the ${kind} backend needs an image to run${kind === "render" ? " (or render.repo to build from)" : ""}`,
            fix: `${fixFor(ctx, "backend.image")} (or build one from a Dockerfile: ${fixFor(ctx, "backend.build.dockerfile")})`,
        });
    }
    if (has("image") && (has("build") || fromRepo)) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.image`,
            message: `is set together with ${has("build") ? "backend.build" : "backend.render.repo"}; choose one source for the backend`,
            fix: `npm run pulumi -- config rm --path ${NAMESPACE}:backend.${has("build") ? "build" : "image"} --stack ${ctx.stack}`,
        });
    }
    if (kind === "fly") {
        credentialProblem(
            ctx,
            "flyApiToken",
            "FLY_API_TOKEN",
            "the fly backend needs a Fly.io API token",
            "token from `fly tokens create org`",
        );
        const region = valueAt(rawSection, ["fly", "region"]);
        const regions = valueAt(rawSection, ["fly", "regions"]);
        if (region === undefined && regions === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.fly.regions`,
                message: "is not set; the fly backend needs at least one region to run machines in (fly platform regions lists them)",
                fix: `${fixFor(ctx, "backend.fly.regions[0].region")} (and ${fixFor(ctx, "backend.fly.regions[0].count")})`,
            });
        } else if (region !== undefined && regions !== undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.fly.region`,
                message: "is set together with backend.fly.regions; use region/count for one region or regions for several",
                fix: `npm run pulumi -- config rm --path ${NAMESPACE}:backend.fly.region --stack ${ctx.stack}`,
            });
        }
    } else {
        credentialProblem(
            ctx,
            "renderApiKey",
            "RENDER_API_KEY",
            "the render backend needs a Render API key",
            "key from the Render dashboard",
        );
        if (valueAt(rawSection, ["render", "ownerId"]) === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.render.ownerId`,
                message: "is not set; Render needs the workspace that owns the service",
                fix: fixFor(ctx, "backend.render.ownerId"),
            });
        }
        if (has("build") && valueAt(rawSection, ["build", "registry"]) === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:backend.build.registry`,
                message:
                    "is not set; an image built for Render is pushed to your registry (Render has none), so Keel needs its server, username and repository",
                fix: `npm run pulumi -- config set --path ${NAMESPACE}:backend.build.registry.server ghcr.io --stack ${ctx.stack} (and .username, .repository; the password: npm run pulumi -- config set --secret ${NAMESPACE}:registryPassword <token>)`,
            });
        } else if (has("build") && ctx.deployCredentials && ctx.get("registryPassword") === undefined) {
            ctx.problems.push({
                key: `${NAMESPACE}:registryPassword`,
                message: "is not set; pushing the built image to backend.build.registry needs its password or token",
                fix: `npm run pulumi -- config set --secret ${NAMESPACE}:registryPassword <token> --stack ${ctx.stack}`,
            });
        }
    }
    if (kind === "fly" && valueAt(rawSection, ["fly", "strategy"]) === "immediate" && ctx.stage !== "dev") {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.fly.strategy`,
            message: `is 'immediate' on ${ctx.stage}: it replaces every machine at once without waiting for health, which is for dev only`,
            fix: `${fixFor(ctx, "backend.fly.strategy")} (or bluegreen)`,
        });
    }
    if (!section || ctx.problems.length > before) return undefined;

    const common: BackendCommon = {
        image: section.image
            ? { kind: "prebuilt", image: section.image }
            : section.build
              ? {
                    kind: "build",
                    context: section.build.context,
                    dockerfile: section.build.dockerfile,
                    platform: section.build.platform,
                    registry: section.build.registry,
                }
              : undefined,
        port: section.port,
        env: section.env,
        secrets,
        databaseUrlEnv: section.databaseUrlEnv,
        healthCheck: section.healthCheck,
        watch: {
            minutes: section.watch.minutes ?? ctx.defaults.backend.watchMinutes,
            intervalSeconds: section.watch.intervalSeconds,
            failures: section.watch.failures,
        },
        allowDelete: section.allowDelete,
    };
    const watch = common.watch;
    if (watch.minutes > 0 && watch.failures * watch.intervalSeconds > watch.minutes * 60) {
        // The watch would end before enough failures were seen: it could never roll back.
        ctx.problems.push({
            key: `${NAMESPACE}:backend.watch.failures`,
            message: `is ${watch.failures}: ${watch.failures} failed probes ${watch.intervalSeconds} s apart take ${watch.failures * watch.intervalSeconds} s, longer than the ${watch.minutes}-minute watch (backend.watch.minutes), so it could never roll back`,
            fix: watchFixes(ctx.stack, watch)
                .map((f, i) => (i === 0 ? f : `(or ${f})`))
                .join(" "),
        });
    }
    const overlap = Object.keys(section.env).filter((k) => k in secrets || k === section.databaseUrlEnv);
    for (const k of overlap) {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.env.${k}`,
            message: `is also ${k === section.databaseUrlEnv ? "the database URL's variable (backend.databaseUrlEnv)" : "a secret in keel:backendSecrets"}; one value per variable`,
            fix: `npm run pulumi -- config rm --path ${NAMESPACE}:backend.env.${k} --stack ${ctx.stack}`,
        });
    }
    if (section.databaseUrlEnv && section.databaseUrlEnv in secrets) {
        ctx.problems.push({
            key: `${NAMESPACE}:backendSecrets.${section.databaseUrlEnv}`,
            message: "is the database URL's variable, which Keel wires from the stack's database",
            fix: `npm run pulumi -- config rm --path ${NAMESPACE}:backendSecrets.${section.databaseUrlEnv} --stack ${ctx.stack}`,
        });
    }
    const defaults = ctx.defaults.backend;

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
                app: f.app ?? physicalName("flyApp", ctx.project, ctx.stack),
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
            name: r.name ?? physicalName("renderService", ctx.project, ctx.stack),
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
