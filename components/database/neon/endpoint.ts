/**
 * NeonEndpoint: the branch's read-write compute, with its autoscaling limits
 * and suspend timeout from config. A branch has at most one read-write
 * endpoint, so an existing one is adopted (and set to the config).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Endpoint } from "@neondatabase/api-client";
import { KeelError } from "../../errors";
import { Api, waitForOperations, waitForRunningOperations } from "../../vendors/neon";
import {
    findOrCreate,
    info,
    NeonCommonInputs,
    neonContext,
    poolerHost,
    readWriteEndpoint,
    readOrGone,
    warnDrift,
    deleteUnlessProtected,
    NeonOnBranchArgs,
    diffOnBranch,
} from "./common";
import { dynamicType, KeelDynamicResource, versioned } from "../../providerContext";

export interface NeonEndpointInputs extends NeonCommonInputs {
    projectId: string;
    branchId: string;
    minCu: number;
    maxCu: number;
    /** -1 never suspends, 0 is Neon's default (300 s). */
    suspendTimeoutSeconds: number;
}

export interface NeonEndpointOutputs extends NeonEndpointInputs {
    endpointId: string;
    /** Direct host, for migrations. */
    host: string;
    /** `<endpoint-id>-pooler.<rest>`, for the app. */
    poolerHost: string;
    drift: string[];
}

const ctx = neonContext();

function what(inputs: { branchId: string }, id?: string): string {
    return `Neon read-write endpoint${id ? ` ${id}` : ""} of branch ${inputs.branchId}`;
}

function differs(e: Endpoint, inputs: NeonEndpointInputs): boolean {
    return (
        e.autoscaling_limit_min_cu !== inputs.minCu ||
        e.autoscaling_limit_max_cu !== inputs.maxCu ||
        e.suspend_timeout_seconds !== inputs.suspendTimeoutSeconds
    );
}

async function applySettings(api: Api, inputs: NeonEndpointInputs, id: string): Promise<Endpoint> {
    const { data } = await api.updateProjectEndpoint(inputs.projectId, id, {
        endpoint: {
            autoscaling_limit_min_cu: inputs.minCu,
            autoscaling_limit_max_cu: inputs.maxCu,
            suspend_timeout_seconds: inputs.suspendTimeoutSeconds,
        },
    });
    await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
    return data.endpoint;
}

function outputs(inputs: NeonEndpointInputs, e: Endpoint): NeonEndpointOutputs {
    return {
        ...inputs,
        minCu: e.autoscaling_limit_min_cu,
        maxCu: e.autoscaling_limit_max_cu,
        suspendTimeoutSeconds: e.suspend_timeout_seconds,
        endpointId: e.id,
        host: e.host,
        poolerHost: poolerHost(e.host),
        drift: [],
    };
}

export const neonEndpointProvider = versioned<NeonEndpointInputs, NeonEndpointOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.minCu !== "number" || news.minCu < 0.25)
                failures.push({ property: "minCu", reason: "expected at least 0.25 compute units" });
            if (typeof news.maxCu !== "number" || news.maxCu < news.minCu)
                failures.push({ property: "maxCu", reason: `expected at least minCu (${news.minCu})` });
            const s = news.suspendTimeoutSeconds;
            if (!Number.isInteger(s) || s < -1 || s > 604800 || (s > 0 && s < 60)) {
                failures.push({
                    property: "suspendTimeoutSeconds",
                    reason: "expected -1 (never), 0 (Neon's default) or 60 to 604800 seconds",
                });
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            return diffOnBranch<NeonEndpointInputs>(olds, news, { inPlace: ["minCu", "maxCu", "suspendTimeoutSeconds"] });
        },

        async create(inputs) {
            const api = ctx.client();
            const found = await findOrCreate(
                what(inputs),
                () => readWriteEndpoint(api, inputs.projectId, inputs.branchId),
                async () => {
                    const { data } = await api.createProjectEndpoint(inputs.projectId, {
                        endpoint: {
                            branch_id: inputs.branchId,
                            type: "read_write" as Endpoint["type"],
                            autoscaling_limit_min_cu: inputs.minCu,
                            autoscaling_limit_max_cu: inputs.maxCu,
                            suspend_timeout_seconds: inputs.suspendTimeoutSeconds,
                        },
                    });
                    info(`created ${what(inputs, data.endpoint.id)}; waiting for Neon to start it`);
                    await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
                    return data.endpoint;
                },
            );
            let endpoint = found.value;
            if (found.adopted || found.recovered) {
                info(
                    `${what(inputs, endpoint.id)} ${found.recovered ? "was created although the response was lost" : "exists"}; adopting it`,
                );
                await waitForRunningOperations(api, inputs.projectId, { branchId: inputs.branchId, endpointId: endpoint.id }, ctx.wait);
                if (differs(endpoint, inputs)) endpoint = await applySettings(api, inputs, endpoint.id);
            }
            return { id: endpoint.id, outs: outputs(inputs, endpoint) };
        },

        async update(id, olds, news) {
            if (olds.branchId !== news.branchId || olds.projectId !== news.projectId) {
                throw new KeelError(
                    `${what(news, id)}: the branch changed from ${olds.branchId}; run 'pulumi up' again to replace the endpoint.`,
                );
            }
            const api = ctx.client();
            let endpoint = (await api.getProjectEndpoint(news.projectId, id)).data.endpoint;
            if (differs(endpoint, news)) {
                info(`setting ${what(news, id)}: ${news.minCu}-${news.maxCu} CU, suspend after ${news.suspendTimeoutSeconds} s`);
                endpoint = await applySettings(api, news, id);
            }
            return { outs: outputs(news, endpoint) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            const found = await readOrGone(what(props, id), api.getProjectEndpoint(props.projectId, id));
            if (!found) return { id: "" };
            const e = found.data.endpoint;
            const drift: string[] = [];
            if (e.autoscaling_limit_min_cu !== props.minCu) drift.push(`~ minCu: ${props.minCu} -> ${e.autoscaling_limit_min_cu}`);
            if (e.autoscaling_limit_max_cu !== props.maxCu) drift.push(`~ maxCu: ${props.maxCu} -> ${e.autoscaling_limit_max_cu}`);
            if (e.suspend_timeout_seconds !== props.suspendTimeoutSeconds)
                drift.push(`~ suspendTimeoutSeconds: ${props.suspendTimeoutSeconds} -> ${e.suspend_timeout_seconds}`);
            if (e.branch_id !== props.branchId) drift.push(`~ branchId: ${props.branchId} -> ${e.branch_id}`);
            if (e.host !== props.host) drift.push(`~ host: ${props.host} -> ${e.host}`);
            warnDrift(what(props, id), drift, " (changed outside Keel)");
            return { id, props: { ...outputs(props, e), branchId: e.branch_id, drift } };
        },

        async delete(id, props) {
            await deleteUnlessProtected(ctx, what(props, id), props, (api) => api.deleteProjectEndpoint(props.projectId, id));
        },
    },
);

export interface NeonEndpointArgs extends NeonOnBranchArgs {
    minCu: pulumi.Input<number>;
    maxCu: pulumi.Input<number>;
    suspendTimeoutSeconds: pulumi.Input<number>;
}

export class NeonEndpoint extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("NeonEndpoint");
    declare readonly endpointId: pulumi.Output<string>;
    declare readonly host: pulumi.Output<string>;
    declare readonly poolerHost: pulumi.Output<string>;
    declare readonly minCu: pulumi.Output<number>;
    declare readonly maxCu: pulumi.Output<number>;
    declare readonly suspendTimeoutSeconds: pulumi.Output<number>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: NeonEndpointArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            neonEndpointProvider,
            NeonEndpoint.__pulumiType,
            name,
            { ...args, endpointId: undefined, host: undefined, poolerHost: undefined, drift: undefined },
            opts,
        );
    }
}
