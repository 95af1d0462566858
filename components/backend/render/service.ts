/**
 * RenderService: the stack's Render web service, from an image or from a
 * repository's Dockerfile, with its env vars (the whole set, as one list) and
 * its deploys, which Keel makes (autoDeploy "no") and follows until live.
 *
 * - create finds the service by name first (adopting it) and, when a create's
 *   response was lost, looks again instead of creating a second one;
 * - update PATCHes what differs from the live service, PUTs the env vars when
 *   their set differs, deploys (an image service: the new imageUrl) and
 *   follows the deploy; a failed deploy is rolled back to the last live one;
 * - read reports drift: deleted, suspended, settings or env vars changed in
 *   the dashboard (keys only, never values);
 * - delete refuses when the stack protects the service.
 *
 * Env var values are secret (additionalSecretOutputs) and never appear in
 * progress lines, warnings, errors or drift. The state keeps a digest of the
 * live set (envDigest) instead of the live values.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelError, protectedDeletionFix } from "../../errors";
import {
    Deploy,
    DEPLOY_FAILURE_STATUSES,
    EnvVar,
    isRenderNotFound,
    RenderClient,
    Service,
    ServiceUpdate,
    waitForDeploy,
    WaitForDeployOptions,
} from "../../vendors/render";
import { renderContext } from "./context";
import {
    checkInputs,
    createBody,
    deployLogsUrl,
    describeEnvDiff,
    describePatch,
    diffInputs,
    envDiff,
    envDigest,
    envVarList,
    envVarRecord,
    inputsFromLive,
    liveSettings,
    RenderServiceInputs,
    RenderServiceOutputs,
    RenderSource,
    revertPatch,
    serviceDrift,
    settingsPatch,
} from "./serviceSpec";
import { dynamicType, KeelDynamicResource, versioned } from "../../providerContext";

export type { RenderServiceInputs, RenderServiceOutputs, RenderSource } from "./serviceSpec";

/** A deploy that did not go live; the previous deploy was restored (when there was one). */
export class RenderDeployFailedError extends KeelError {
    constructor(
        message: string,
        readonly serviceId: string,
        readonly deployId: string,
        readonly status: string,
        /** The rollback deploy that went live, if any. */
        readonly restoredDeployId?: string,
    ) {
        super(message, "RenderDeployFailedError");
    }
}

/** Refused deletion of a protected Render service. */
export class RenderProtectedError extends KeelError {
    constructor(message: string) {
        super(message, "RenderProtectedError");
    }
}

/** The service is suspended: Render refuses deploys until it is resumed. */
export class RenderServiceSuspendedError extends KeelError {
    constructor(message: string) {
        super(message, "RenderServiceSuspendedError");
    }
}

/** The Render service is not what Keel can manage (another type, several of the name, gone). */
export class RenderServiceError extends KeelError {
    constructor(message: string) {
        super(message, "RenderServiceError");
    }
}

const ctx = renderContext();

function what(name: string, id?: string): string {
    return `Render service '${name}'${id ? ` (${id})` : ""}`;
}

/** Polls in proportion to the timeout: a short timeout (tests, small images) polls often, a long one every 1-10 s. */
function waitOptions(inputs: RenderServiceInputs): WaitForDeployOptions {
    const ms = Math.max(1, inputs.deployTimeoutSeconds) * 1000;
    return {
        timeoutS: inputs.deployTimeoutSeconds,
        pollMs: Math.round(Math.min(1000, Math.max(20, ms / 300))),
        maxPollMs: Math.round(Math.min(10_000, Math.max(100, ms / 30))),
        onProgress: (message) => ctx.log.info(message),
    };
}

/** The web service named `inputs.name` in the owner's workspace, if there is one. */
async function findService(api: RenderClient, inputs: RenderServiceInputs): Promise<Service | undefined> {
    const found = await api.findServicesByName(inputs.name, inputs.ownerId);
    if (found.length > 1) {
        throw new RenderServiceError(
            `${found.length} Render services are named '${inputs.name}' in workspace ${inputs.ownerId} (${found.map((s) => s.id).join(", ")}); ` +
                `Keel finds its service by name, so rename or delete the extra ones in the Render dashboard, then run 'pulumi up' again.`,
        );
    }
    const service = found[0];
    if (service && service.type !== "web_service") {
        throw new RenderServiceError(
            `${what(inputs.name, service.id)} exists but is a ${service.type}, not a web service; rename it in the Render dashboard or choose another name, then run 'pulumi up' again.`,
        );
    }
    return service;
}

function refuseIfSuspended(service: Service, inputs: RenderServiceInputs): void {
    if (service.suspended !== "suspended") return;
    throw new RenderServiceSuspendedError(
        `${what(inputs.name, service.id)} is suspended (by ${service.suspenders?.length ? service.suspenders.join(", ") : "someone"}), and Render refuses deploys while it is. ` +
            `Resume it in the Render dashboard (${service.dashboardUrl || `https://dashboard.render.com/web/${service.id}`}, Settings > Resume service), then run 'pulumi up' again.`,
    );
}

const IN_PROGRESS = ["created", "queued", "build_in_progress", "update_in_progress", "pre_deploy_in_progress"];

/**
 * Creates a deploy and returns its id. Render answers 202 without a body when
 * the deploy is queued behind another, and a POST's response can be lost: in
 * both cases the deploy is found in the list (the newest one not known before).
 */
async function startDeploy(api: RenderClient, serviceId: string, inputs: RenderServiceInputs, known: Set<string>): Promise<string> {
    const body = inputs.source.kind === "image" ? { imageUrl: inputs.source.image } : {};
    const startedMs = Date.now();
    let lost: unknown;
    let deploy: Deploy | undefined;
    try {
        deploy = await api.createDeploy(serviceId, body);
    } catch (err) {
        // A 429 past the retry budget, or any other refusal, is Render's clear message: let it through.
        if (!(err as { mayHaveBeenProcessed?: boolean }).mayHaveBeenProcessed) throw err;
        lost = err;
    }
    if (deploy) {
        ctx.log.info(
            `deploying ${inputs.source.kind === "image" ? inputs.source.image : `${inputs.source.repo}@${inputs.source.branch}`} to ${what(inputs.name, serviceId)}: deploy ${deploy.id}`,
        );
        return deploy.id;
    }
    ctx.log.info(
        lost
            ? `the response to the deploy request for ${what(inputs.name, serviceId)} was lost; looking for the deploy`
            : `Render queued the deploy of ${what(inputs.name, serviceId)} behind another (202, no id given); looking for it`,
    );
    for (let attempt = 1; attempt <= 5; attempt++) {
        const recent = await api.listDeploys(serviceId, { limit: 20 });
        const mine = recent.find(
            (d) => !known.has(d.id) && d.trigger !== "rollback" && (!d.createdAt || Date.parse(d.createdAt) >= startedMs - 10 * 60_000),
        );
        if (mine) return mine.id;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
    if (lost) throw lost;
    throw new RenderServiceError(
        `Render accepted a deploy of ${what(inputs.name, serviceId)} but it does not show in the service's deploys; look in the Render dashboard, then run 'pulumi up' again.`,
    );
}

/** The deploy to roll back to: the one recorded in the state if it is still live, else the service's live one, else the recorded one if it was live once. */
async function lastLiveDeploy(
    api: RenderClient,
    serviceId: string,
    recorded: string | undefined,
    failedId: string,
): Promise<Deploy | undefined> {
    let recordedDeploy: Deploy | undefined;
    if (recorded && recorded !== failedId) {
        try {
            recordedDeploy = await api.getDeploy(serviceId, recorded);
        } catch (err) {
            if (!isRenderNotFound(err)) throw err;
        }
        if (recordedDeploy?.status === "live") return recordedDeploy;
    }
    const [live] = await api.listDeploys(serviceId, { status: ["live"], limit: 1 });
    if (live && live.id !== failedId) return live;
    return recordedDeploy?.status === "deactivated" ? recordedDeploy : undefined;
}

interface Before {
    service: Service;
    patch?: ServiceUpdate;
    /** The env vars as they were (set back after a failed deploy when this run changed them). */
    env?: EnvVar[];
}

/**
 * After a failed deploy: put back the settings and env vars this run changed,
 * roll back to the last live deploy, wait for it, and throw.
 *
 * Why the env vars too: Render's rollback re-deploys the earlier build with
 * the service's CURRENT env vars and settings. Leaving the new set in place
 * would run the old build with values it was never deployed with (and the new
 * values may be what broke the deploy: a bad DATABASE_URL, a wrong port, a
 * health check path). Pulumi keeps the previous state after a failed update,
 * so restoring Render to it keeps the two in agreement; the next 'pulumi up'
 * applies the change again.
 */
async function rollBack(
    api: RenderClient,
    inputs: RenderServiceInputs,
    before: Before,
    failed: Deploy,
    recorded: string | undefined,
): Promise<never> {
    const serviceId = before.service.id;
    const status = failed.status ?? "unknown";
    const logs = deployLogsUrl(serviceId, failed.id);
    const head = `Render deploy ${failed.id} of ${what(inputs.name, serviceId)} ended ${status}`;
    const target = await lastLiveDeploy(api, serviceId, recorded, failed.id);
    const restored: string[] = [];
    const back = before.patch ? revertPatch(before.service, before.patch) : undefined;
    if (back) {
        await api.updateService(serviceId, back);
        restored.push(`settings (${describePatch(back).join(", ")})`);
    }
    if (before.env) {
        await api.replaceEnvVars(
            serviceId,
            before.env.map((v) => ({ key: v.key, value: v.value })),
        );
        restored.push("env vars");
    }
    const put = restored.length ? ` Put back the previous ${restored.join(" and ")}.` : "";
    if (!target) {
        throw new RenderDeployFailedError(
            `${head}, and the service has no earlier live deploy to roll back to.${put} Read the deploy's logs: ${logs} ; fix the cause, then run 'pulumi up' again.`,
            serviceId,
            failed.id,
            status,
        );
    }
    ctx.log.warn(`${head}; rolling back to the last live deploy ${target.id}`);
    const rollback = await api.rollback(serviceId, target.id);
    try {
        await waitForDeploy(api, serviceId, rollback.id, waitOptions(inputs));
    } catch (err) {
        throw new RenderDeployFailedError(
            `${head}, and the rollback to ${target.id} (deploy ${rollback.id}) did not go live either: ${(err as Error).message}${put} ` +
                `Read the failed deploy's logs: ${logs} ; look at the service in the Render dashboard, then run 'pulumi up' again.`,
            serviceId,
            failed.id,
            status,
        );
    }
    throw new RenderDeployFailedError(
        `${head}; the previous deploy ${target.id} was restored (rollback deploy ${rollback.id} is live).${put} ` +
            `Read the failed deploy's logs: ${logs} ; fix the cause, then run 'pulumi up' again.`,
        serviceId,
        failed.id,
        status,
        rollback.id,
    );
}

/**
 * Takes the live service to the inputs: PATCH what differs, PUT the env vars
 * when their set differs, deploy when anything the running build depends on
 * changed (or nothing is live), follow the deploy until live, then scale.
 */
async function converge(
    api: RenderClient,
    before: Service,
    news: RenderServiceInputs,
    olds: RenderServiceOutputs | undefined,
    firstDeployId?: string,
): Promise<RenderServiceOutputs> {
    const serviceId = before.id;
    refuseIfSuspended(before, news);
    const patch = settingsPatch(before, news, olds);
    const liveEnv = await api.getEnvVars(serviceId);
    const liveRecord = envVarRecord(liveEnv);
    const envChanged = envDigest(liveRecord) !== envDigest(news.envVars);
    const recent = await api.listDeploys(serviceId, { limit: 20 });
    const latest = recent[0];

    let service = before;
    if (patch) {
        ctx.log.info(`updating ${what(news.name, serviceId)}: ${describePatch(patch).join(", ")}`);
        service = await api.updateService(serviceId, patch);
    }
    if (envChanged) {
        ctx.log.info(
            `setting the ${Object.keys(news.envVars).length} env vars of ${what(news.name, serviceId)} as one set: ${describeEnvDiff(envDiff(liveRecord, news.envVars))}`,
        );
        await api.replaceEnvVars(serviceId, envVarList(news.envVars));
    }

    const image = news.source.kind === "image" ? news.source.image : undefined;
    let follow: string | undefined;
    if (patch || envChanged) follow = await startDeploy(api, serviceId, news, new Set(recent.map((d) => d.id)));
    else if (firstDeployId) follow = firstDeployId;
    else if (!latest) follow = await startDeploy(api, serviceId, news, new Set());
    else if (latest.status && IN_PROGRESS.includes(latest.status)) {
        ctx.log.info(`deploy ${latest.id} of ${what(news.name, serviceId)} is ${latest.status}; following it`);
        follow = latest.id;
    } else if (latest.status !== "live" || (image !== undefined && latest.image?.ref !== undefined && latest.image.ref !== image)) {
        follow = await startDeploy(api, serviceId, news, new Set(recent.map((d) => d.id)));
    }

    let deploy: Deploy | undefined = follow ? undefined : latest;
    if (follow) {
        try {
            deploy = await waitForDeploy(api, serviceId, follow, waitOptions(news));
        } catch (err) {
            const failed = (err as { deploy?: Deploy }).deploy;
            // Only a deploy that ended failed is rolled back; a timeout may still finish (the error says so).
            if (!failed?.status || !DEPLOY_FAILURE_STATUSES.includes(failed.status)) throw err;
            await rollBack(api, news, { service: before, patch, env: envChanged ? liveEnv : undefined }, failed, olds?.deployId);
        }
        ctx.log.info(`${what(news.name, serviceId)} is live: deploy ${follow}`);
    }

    // Scaling is no deploy (POST /scale): done once the new build is live.
    if (liveSettings(service).numInstances !== news.numInstances) {
        ctx.log.info(`scaling ${what(news.name, serviceId)} to ${news.numInstances} instance${news.numInstances === 1 ? "" : "s"}`);
        await api.request("POST", `/services/${encodeURIComponent(serviceId)}/scale`, {
            body: { numInstances: news.numInstances },
            idempotent: true,
        });
    }

    return {
        ...news,
        serviceId,
        url: service.serviceDetails?.url ?? "",
        deployId: deploy?.id ?? "",
        deployStatus: deploy?.status ?? "unknown",
        envDigest: envDigest(news.envVars),
        suspended: false,
        drift: [],
    };
}

export function refuseIfProtected(props: RenderServiceInputs, id: string): void {
    if (!props.protect || props.allowDelete) return;
    const stack = props.stack;
    throw new RenderProtectedError(
        `Refusing to delete ${what(props.name, id)}: the ${stack} stack protects its backend. ` +
            protectedDeletionFix(stack, "keel:backend.allowDelete"),
    );
}

export const renderServiceProvider = versioned<RenderServiceInputs, RenderServiceOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            return { inputs: news, failures: checkInputs(news) };
        },

        async diff(_id, olds, news) {
            const d = diffInputs(olds, news);
            // Delete first: the new service takes the same name, and create adopts a service by name.
            return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: true };
        },

        async create(inputs) {
            const api = ctx.client();
            let service = await findService(api, inputs);
            let firstDeployId: string | undefined;
            if (service) {
                ctx.log.info(`${what(inputs.name, service.id)} exists; adopting it`);
            } else {
                try {
                    const created = await api.createService(createBody(inputs));
                    service = created.service;
                    firstDeployId = created.deployId;
                    ctx.log.info(
                        `created ${what(inputs.name, service.id)}${firstDeployId ? `; its first deploy is ${firstDeployId}` : ""}`,
                    );
                } catch (err) {
                    // Past Render's 20 creations an hour the client's error says how long to wait: let it through.
                    if (!(err as { mayHaveBeenProcessed?: boolean }).mayHaveBeenProcessed) throw err;
                    ctx.log.info(`the response to creating ${what(inputs.name)} was lost; looking for it before trying again`);
                    service = await findService(api, inputs);
                    if (!service) throw err;
                    ctx.log.info(`${what(inputs.name, service.id)} was created although the response was lost; adopting it`);
                }
            }
            const outs = await converge(api, service, inputs, undefined, firstDeployId);
            return { id: service.id, outs };
        },

        async update(id, olds, news) {
            const api = ctx.client();
            let service: Service;
            try {
                service = await api.getService(id);
            } catch (err) {
                if (!isRenderNotFound(err)) throw err;
                throw new RenderServiceError(
                    `${what(news.name, id)} no longer exists in Render; run 'pulumi refresh' (drops it from the state), then 'pulumi up' creates it again.`,
                );
            }
            return { outs: await converge(api, service, news, olds) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            let service: Service;
            try {
                service = await api.getService(id);
            } catch (err) {
                if (!isRenderNotFound(err)) throw err;
                ctx.log.warn(
                    `${what(props.name, id)} no longer exists in Render (deleted outside Keel); refresh drops it from the state and the next 'pulumi up' creates it again.`,
                );
                return { id: "" };
            }
            const liveEnv = envVarRecord(await api.getEnvVars(id));
            const drift = serviceDrift(props, service, liveEnv);
            if (drift.length) ctx.log.warn(`drift in ${what(props.name, id)}:\n  ${drift.join("\n  ")}`);
            return {
                id,
                props: {
                    ...props,
                    ...inputsFromLive(props, service),
                    serviceId: id,
                    url: service.serviceDetails?.url ?? props.url,
                    envDigest: envDigest(liveEnv),
                    suspended: service.suspended === "suspended",
                    drift,
                },
            };
        },

        async delete(id, props) {
            refuseIfProtected(props, id);
            const api = ctx.client();
            ctx.log.info(`deleting ${what(props.name, id)}`);
            if (!(await api.deleteService(id))) ctx.log.info(`${what(props.name, id)} was already gone`);
        },
    },
);

export interface RenderServiceArgs {
    name: pulumi.Input<string>;
    stack: pulumi.Input<string>;
    protect: pulumi.Input<boolean>;
    allowDelete: pulumi.Input<boolean>;
    ownerId: pulumi.Input<string>;
    source: pulumi.Input<RenderSource>;
    plan: pulumi.Input<string>;
    region: pulumi.Input<string>;
    numInstances: pulumi.Input<number>;
    healthCheckPath: pulumi.Input<string>;
    preDeployCommand?: pulumi.Input<string>;
    /** The whole set, secret values included (made secret here). */
    envVars: pulumi.Input<Record<string, pulumi.Input<string>>>;
    deployTimeoutSeconds: pulumi.Input<number>;
}

export class RenderService extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("RenderService");
    declare readonly serviceId: pulumi.Output<string>;
    declare readonly url: pulumi.Output<string>;
    declare readonly deployId: pulumi.Output<string>;
    declare readonly deployStatus: pulumi.Output<string>;
    declare readonly envDigest: pulumi.Output<string>;
    declare readonly suspended: pulumi.Output<boolean>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: RenderServiceArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            renderServiceProvider,
            RenderService.__pulumiType,
            name,
            {
                ...args,
                envVars: pulumi.secret(pulumi.output(args.envVars)),
                serviceId: undefined,
                url: undefined,
                deployId: undefined,
                deployStatus: undefined,
                envDigest: undefined,
                suspended: undefined,
                drift: undefined,
            },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "envVars"] },
        );
    }
}
