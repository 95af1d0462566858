/**
 * `keel:backend`: the API service on Fly.io or Render, where its image comes
 * from, its environment and secrets, the health gate, and each platform's
 * settings with the stage's defaults. Pure: no Pulumi imports.
 */
import { z } from "zod";
import {
    ConfigContext,
    envMap,
    Filled,
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
import { computedDefault } from "./keyDocs";
import { credentialProblem, parseSecrets } from "./secrets";

const flyRegion = z.string().regex(/^[a-z]{3}$/, { message: "expected a Fly region code such as iad" });

export const backendSchema = z
    .object({
        kind: z
            .enum(["fly", "render"])
            .optional()
            .describe("where the API service runs: fly (Fly.io Machines) or render; unset, the stack has no backend"),
        image: pinnedImage.optional().describe("the image to run, pinned to a version tag or digest (or build one: backend.build)"),
        build: z
            .object({
                context: z.string().min(1).default(".").describe("the Docker build context, relative to the project"),
                dockerfile: z.string().min(1).default("Dockerfile").describe("the Dockerfile, relative to the context"),
                platform: z.string().default("linux/amd64").describe("the image's platform"),
                registry: z
                    .object({
                        server: z.string().min(1).describe("the registry's host, such as ghcr.io"),
                        username: z.string().min(1).describe("the user that pushes (its password: keel:registryPassword)"),
                        repository: z.string().min(1).describe("the repository the image is pushed to"),
                    })
                    .strict()
                    .optional()
                    .describe("where a built image is pushed for Render (Fly builds go to Fly's registry)"),
            })
            .strict()
            .optional()
            .describe("build the image from a Dockerfile at `pulumi up` instead of backend.image"),
        port: z.number().int().min(1).max(65535).default(8080).describe("the port the server listens on inside the container"),
        env: envMap.default({}).describe("plain environment variables (secret ones: keel:backendSecrets)"),
        databaseUrlEnv: z
            .union([envName, z.literal("")])
            .default("DATABASE_URL")
            .describe("the variable the database's pooled URL is given under; empty: not wired"),
        healthCheck: z
            .object({
                path: urlPath.default("/healthz").describe("the path that answers 2xx when the service is healthy"),
                url: z
                    .string()
                    .regex(/^https?:\/\/[^\s]+$/, { message: "expected an absolute http(s) URL such as https://api.example.com/healthz" })
                    .optional()
                    .describe("check this URL instead of the platform's host name plus path (a private host, or a proxy in front)"),
                timeoutSeconds: z
                    .number()
                    .int()
                    .min(5)
                    .max(3600)
                    .default(180)
                    .describe("how long `pulumi up` waits for the public URL to answer 2xx after a deploy"),
                intervalSeconds: z.number().int().min(1).max(60).default(5).describe("seconds between checks"),
            })
            .strict()
            .default({ path: "/healthz", timeoutSeconds: 180, intervalSeconds: 5 })
            .describe("the health gate after every deploy"),
        watch: z
            .object({
                minutes: z
                    .number()
                    .int()
                    .min(0)
                    .max(WATCH_MAX_MINUTES)
                    .optional()
                    .describe("minutes deploy.yml probes the health URLs after a successful CI deploy; 0: no watch"),
                intervalSeconds: z
                    .number()
                    .int()
                    .min(5)
                    .max(300)
                    .default(WATCH_DEFAULTS.intervalSeconds)
                    .describe("seconds between probes"),
                failures: z
                    .number()
                    .int()
                    .min(1)
                    .max(20)
                    .default(WATCH_DEFAULTS.failures)
                    .describe("failed probes in a row that roll the stack back; failures × intervalSeconds must fit in the watch"),
            })
            .strict()
            .default({ ...WATCH_DEFAULTS })
            .describe(
                "the watch after a CI deploy: failures roll the stack back (`npm run rollback -- --stack <s> --previous --yes`), open or update the incident issue and fail the deploy",
            ),
        allowDelete: z.boolean().default(false).describe("deleting the protected (prod) app or service is meant"),
        fly: z
            .object({
                app: computedDefault(serviceName.optional().describe("the Fly app's name"), "`<project>-<stack>`"),
                org: z.string().min(1).default("personal").describe("the Fly organization"),
                region: flyRegion.optional().describe("the one region to run in, with count (or regions for several)"),
                count: computedDefault(z.number().int().min(1).max(20).optional().describe("machines in region"), "`1`"),
                regions: z
                    .array(
                        z
                            .object({
                                region: flyRegion.describe("a Fly region code (fly platform regions lists them)"),
                                count: z.number().int().min(1).max(20).default(1).describe("machines in the region"),
                            })
                            .strict(),
                    )
                    .min(1)
                    .optional()
                    .describe("the regions to run in, each once with its machine count (or region and count for one)"),
                size: z
                    .object({
                        cpuKind: z.enum(["shared", "performance"]).default("shared").describe("the machine's CPU kind"),
                        cpus: z.number().int().min(1).max(16).default(1).describe("CPUs per machine"),
                        memoryMb: z
                            .number()
                            .int()
                            .min(256)
                            .max(131072)
                            .multipleOf(256)
                            .default(512)
                            .describe("memory per machine, in MB (a multiple of 256)"),
                    })
                    .strict()
                    .default({ cpuKind: "shared", cpus: 1, memoryMb: 512 })
                    .describe("each machine's size"),
                strategy: z
                    .enum(["rolling", "bluegreen", "immediate"])
                    .optional()
                    .describe("the rollout: rolling (one machine at a time), bluegreen, or immediate (dev only)"),
                autostop: z.enum(["off", "stop", "suspend"]).optional().describe("what Fly does with idle machines"),
                autostart: z.boolean().default(true).describe("start stopped machines on request"),
                minMachinesRunning: z
                    .number()
                    .int()
                    .min(0)
                    .max(20)
                    .optional()
                    .describe("machines autostop leaves running (0 when autostop is off: every machine runs)"),
                restart: z
                    .object({
                        policy: z.enum(["no", "always", "on-failure"]).default("on-failure").describe("when a machine restarts"),
                        maxRetries: z.number().int().min(0).max(100).optional().describe("restarts before giving up (on-failure)"),
                    })
                    .strict()
                    .default({ policy: "on-failure" })
                    .describe("the machines' restart policy"),
                processGroup: z
                    .string()
                    .regex(/^[a-z][a-z0-9_-]*$/)
                    .default("app")
                    .describe("the machines' process group"),
                sharedIpv4: z.boolean().default(true).describe("allocate a shared IPv4 address"),
                ipv6: z.boolean().default(true).describe("allocate an IPv6 address"),
                domains: z.array(hostname).default([]).describe("custom domains, each with a Fly certificate"),
                machineHealthTimeoutSeconds: z
                    .number()
                    .int()
                    .min(10)
                    .max(1800)
                    .default(300)
                    .describe("how long each machine has to start and pass its checks"),
            })
            .strict()
            .optional()
            .describe("the fly kind's settings; a region is required"),
        render: z
            .object({
                name: computedDefault(serviceName.optional().describe("the Render service's name"), "`<project>-<stack>`"),
                ownerId: z
                    .string()
                    .regex(/^(tea|usr)-[a-z0-9]+$/, {
                        message: "expected a workspace id such as tea-xxxxxxxxxxxxxxxxxxxx (Render dashboard > Workspace settings)",
                    })
                    .optional()
                    .describe("the workspace that owns the service (required)"),
                plan: z
                    .enum(["free", "starter", "standard", "pro", "pro_plus", "pro_max", "pro_ultra"])
                    .default("starter")
                    .describe("the instance type"),
                region: z.enum(["oregon", "ohio", "virginia", "frankfurt", "singapore"]).default("oregon").describe("the Render region"),
                instances: z.number().int().min(1).max(100).optional().describe("how many instances run"),
                preDeployCommand: z.string().min(1).optional().describe("a command Render runs before each deploy"),
                domains: z.array(hostname).default([]).describe("custom domains"),
                repo: z
                    .object({
                        url: z
                            .string()
                            .regex(/^https:\/\/(github|gitlab)\.com\/[^/\s]+\/[^/\s]+$/, {
                                message: "expected a repository URL such as https://github.com/my-org/my-app",
                            })
                            .describe("the repository's URL"),
                        branch: z.string().min(1).describe("the branch Render deploys"),
                        dockerfilePath: z.string().min(1).optional().describe("the Dockerfile, relative to the repository"),
                        dockerContext: z.string().min(1).optional().describe("the build context, relative to the repository"),
                    })
                    .strict()
                    .optional()
                    .describe("deploy from the repository (Render builds the Dockerfile) instead of an image"),
                registryCredentialId: z.string().min(1).optional().describe("the Render registry credential for a private image"),
                deployTimeoutSeconds: z.number().int().min(60).max(7200).default(1200).describe("how long a deploy may take"),
            })
            .strict()
            .optional()
            .describe("the render kind's settings; ownerId is required"),
    })
    .strict();

/** keel:backend as the stack file gives it (zod's output: the constant defaults filled in). */
type BackendSection = z.output<typeof backendSchema>;
type FlySection = NonNullable<BackendSection["fly"]>;
type RenderSection = NonNullable<BackendSection["render"]>;

export type DeployStrategy = NonNullable<FlySection["strategy"]>;

/** Where the image comes from: a pushed reference, or a Dockerfile built by `pulumi up`. */
export type ImageSource = { kind: "prebuilt"; image: string } | ({ kind: "build" } & NonNullable<BackendSection["build"]>);

export type HealthCheckConfig = BackendSection["healthCheck"];

/** The watch after a CI deploy (backend.watch), minutes from the stage's defaults. */
export type WatchConfig = Filled<BackendSection["watch"], "minutes">;

export type FlyBackendConfig = Filled<
    Omit<FlySection, "region" | "count" | "regions" | "size">,
    "app" | "strategy" | "autostop" | "minMachinesRunning"
> & {
    regions: NonNullable<FlySection["regions"]>;
    guest: FlySection["size"];
};

export type RenderBackendConfig = Filled<RenderSection, "name" | "ownerId" | "instances">;

type BackendCommon = Omit<BackendSection, "kind" | "image" | "build" | "fly" | "render" | "watch"> & {
    image?: ImageSource;
    /** Secret environment variables, from the secret key keel:backendSecrets. */
    secrets: Record<string, string>;
    watch: WatchConfig;
};

export type BackendConfig =
    (BackendCommon & { kind: "fly"; fly: FlyBackendConfig }) | (BackendCommon & { kind: "render"; render: RenderBackendConfig });

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
    // A preview (one machine, stageDefaults' immediate) may replace it at once, as dev does.
    if (kind === "fly" && valueAt(rawSection, ["fly", "strategy"]) === "immediate" && ctx.stage !== "dev" && ctx.stage !== "preview") {
        ctx.problems.push({
            key: `${NAMESPACE}:backend.fly.strategy`,
            message: `is 'immediate' on ${ctx.stage}: it replaces every machine at once without waiting for health, which is for dev and previews only`,
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
