/**
 * HealthGate: a dynamic resource whose create and update GET the deployed
 * backend's public health URL until it answers 2xx, so `pulumi up` fails
 * (naming the URL, the last answer and where to look) when the new version
 * is deployed but not healthy. Any change of the release re-runs it.
 *
 * Refresh never fails because the service is down: read() probes once and
 * only warns. Delete does nothing. Messages never show the URL's query or
 * userinfo.
 */
import * as pulumi from "@pulumi/pulumi";
import { randomUUID } from "crypto";
import { KeelError } from "../errors";
import { changed, dynamicType, isUnknown, KeelDynamicResource, vendorLog, versioned } from "../providerContext";
import { describeAttempt, formatSeconds, probeHealth, redactUrl } from "./healthProbe";

export interface HealthGateInputs {
    /** Full URL, e.g. https://keel-app.fly.dev/healthz. */
    url: string;
    /** Total time to wait for a 2xx. */
    timeoutSeconds: number;
    /** Between attempts. */
    intervalSeconds: number;
    /** What was deployed (image + release version / deploy id): any change re-runs the gate. */
    release: string;
    /** Where to look when it fails, e.g. "fly logs -a keel-app" or a Render dashboard URL. */
    logsHint: string;
}

export interface HealthGateOutputs extends HealthGateInputs {
    status: number;
    checkedAt: string;
    attempts: number;
    latencyMs: number;
}

/** The deployed backend did not answer 2xx on its health URL in time. */
export class HealthGateError extends KeelError {
    constructor(message: string) {
        super(message, "HealthGateError");
    }
}

const log = vendorLog("health");

/** The properties whose change re-runs the gate. */
const GATED_KEYS = ["url", "release", "timeoutSeconds", "intervalSeconds"] as const;

async function runGate(inputs: HealthGateInputs): Promise<HealthGateOutputs> {
    const shown = redactUrl(inputs.url);
    log.info(`waiting up to ${formatSeconds(inputs.timeoutSeconds * 1000)} for a 2xx from ${shown} (release ${inputs.release})`);
    const result = await probeHealth({
        url: inputs.url,
        timeoutSeconds: inputs.timeoutSeconds,
        intervalSeconds: inputs.intervalSeconds,
        onProgress: (message) => log.info(message),
    });
    if (!result.ok) {
        throw new HealthGateError(
            `${shown} did not answer 2xx within ${formatSeconds(inputs.timeoutSeconds * 1000)} ` +
                `(${result.attempts} attempt${result.attempts === 1 ? "" : "s"}); last answer: ${describeAttempt(result.last)}.\n` +
                `The new version (${inputs.release}) is deployed but not answering; look at: ${inputs.logsHint}`,
        );
    }
    log.info(
        `${shown} answered ${result.last.status} after ${result.attempts} attempt${result.attempts === 1 ? "" : "s"} (${formatSeconds(result.elapsedMs)})`,
    );
    return {
        url: inputs.url,
        timeoutSeconds: inputs.timeoutSeconds,
        intervalSeconds: inputs.intervalSeconds,
        release: inputs.release,
        logsHint: inputs.logsHint,
        status: result.last.status,
        checkedAt: new Date().toISOString(),
        attempts: result.attempts,
        latencyMs: Math.round(result.last.latencyMs),
    };
}

export const healthGateProvider = versioned<HealthGateInputs, HealthGateOutputs>(
    { version: 1 },
    {
        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            const known = (v: unknown) => !isUnknown(v);
            if (known(news.url)) {
                let ok = false;
                if (typeof news.url === "string") {
                    try {
                        const u = new URL(news.url);
                        ok = (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
                    } catch {
                        ok = false;
                    }
                }
                if (!ok) {
                    const got = typeof news.url === "string" ? `'${redactUrl(news.url)}'` : typeof news.url;
                    failures.push({ property: "url", reason: `expected an absolute http:// or https:// URL, got ${got}` });
                }
            }
            const t = news.timeoutSeconds;
            const timeoutOk = typeof t === "number" && Number.isFinite(t) && t >= 1 && t <= 3600;
            if (known(t) && !timeoutOk)
                failures.push({ property: "timeoutSeconds", reason: `expected 1 to 3600 seconds, got ${JSON.stringify(t)}` });
            const i = news.intervalSeconds;
            if (known(i)) {
                const max = timeoutOk ? t : 3600;
                if (typeof i !== "number" || !Number.isFinite(i) || i < 1 || i > max) {
                    failures.push({
                        property: "intervalSeconds",
                        reason: `expected 1 to ${max} seconds (at most timeoutSeconds), got ${JSON.stringify(i)}`,
                    });
                }
            }
            if (known(news.release) && (typeof news.release !== "string" || news.release === "")) {
                failures.push({
                    property: "release",
                    reason: "expected a non-empty string naming what was deployed (image and release version or deploy id)",
                });
            }
            if (known(news.logsHint) && typeof news.logsHint !== "string") {
                failures.push({ property: "logsHint", reason: "expected a string saying where to look when the gate fails" });
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            // An unknown value at preview (a new image, a new deploy) is a change the gate will act on.
            const changes = GATED_KEYS.some((k) => isUnknown(news[k]) || changed(olds[k], news[k]));
            return { changes, replaces: [], deleteBeforeReplace: false };
        },

        async create(inputs) {
            const outs = await runGate(inputs);
            const id = randomUUID();
            return { id, outs };
        },

        async update(_id, _olds, news) {
            return { outs: await runGate(news) };
        },

        async read(id, props) {
            if (!props || typeof props.url !== "string") return { id, props };
            const shown = redactUrl(props.url);
            try {
                const result = await probeHealth({ url: props.url, timeoutSeconds: 10, intervalSeconds: 1, maxAttempts: 1 });
                if (!result.ok) {
                    log.warn(
                        `${shown} is not healthy now: ${describeAttempt(result.last)}; keeping the last check (${props.checkedAt}); look at: ${props.logsHint}`,
                    );
                }
            } catch (err) {
                log.warn(`could not probe ${shown}: ${err instanceof Error ? err.message : String(err)}; keeping the last check`);
            }
            return { id, props };
        },

        async delete() {
            // Nothing was created outside the state.
        },
    },
);

export interface HealthGateArgs {
    url: pulumi.Input<string>;
    timeoutSeconds: pulumi.Input<number>;
    intervalSeconds: pulumi.Input<number>;
    release: pulumi.Input<string>;
    logsHint: pulumi.Input<string>;
}

/** Type token keel:HealthGate (the engine shows pulumi-nodejs:dynamic/keel:HealthGate). */
export class HealthGate extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("HealthGate");
    declare readonly status: pulumi.Output<number>;
    declare readonly checkedAt: pulumi.Output<string>;
    declare readonly attempts: pulumi.Output<number>;
    declare readonly latencyMs: pulumi.Output<number>;

    constructor(name: string, args: HealthGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            healthGateProvider,
            HealthGate.__pulumiType,
            name,
            { ...args, status: undefined, checkedAt: undefined, attempts: undefined, latencyMs: undefined },
            opts,
        );
    }
}
