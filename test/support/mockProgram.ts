/**
 * Runs Keel's program under Pulumi's mocks and records every registered
 * resource with its inputs and the options the engine would see (parent,
 * protect, retainOnDelete, dependsOn, additional secret outputs), which the
 * plain mocks API does not expose.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RegisteredResource {
    type: string;
    name: string;
    urn: string;
    inputs: any;
    parent: string;
    protect: boolean;
    retainOnDelete: boolean;
    dependsOn: string[];
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
}

export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretValue(v: any): boolean {
    return v !== null && typeof v === "object" && v[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The value inside a secret envelope (or the value itself). */
export function unwrap(v: any): any {
    return isSecretValue(v) ? v.value : v;
}

export interface MockRun {
    resources: RegisteredResource[];
    outputs: Record<string, any>;
    /** Resources of one type. */
    ofType(type: string): RegisteredResource[];
    /** The one resource of a type; fails when there is not exactly one. */
    one(type: string): RegisteredResource;
}

const DYN = (t: string) => `pulumi-nodejs:dynamic/keel:${t}`;

/** Outputs Keel's own dynamic resources (and a built image) report after a create, so stack outputs resolve. */
function defaultOutputs(type: string, _name: string, inputs: any): Record<string, unknown> {
    switch (type) {
        case DYN("SchemaMigrations"):
            return { applied: [], version: "", fingerprint: "0".repeat(64), drift: [], pending: [] };
        case DYN("FlyApp"):
            return { appName: inputs.name, appId: "app-1", hostname: `${inputs.name}.fly.dev`, status: "deployed", drift: [] };
        case DYN("FlySecrets"):
            return { names: Object.keys(unwrap(inputs.values) ?? {}), digests: {}, version: 3, drift: [] };
        case DYN("FlyMachines"):
            return { machines: [], machineIds: ["m-1", "m-2"], releaseVersion: 1, drift: [] };
        case DYN("RenderService"):
            return {
                serviceId: "srv-1",
                url: `https://${inputs.name}.onrender.com`,
                deployId: "dep-1",
                deployStatus: "live",
                envDigest: "x",
                suspended: false,
                drift: [],
            };
        case DYN("RenderCustomDomain"):
            return { domainId: "cdm-1", verificationStatus: "verified", drift: [] };
        case DYN("HealthGate"):
            return { status: 200, checkedAt: "2026-11-21T00:00:00Z", attempts: 1, latencyMs: 5 };
        case "docker:index/image:Image":
            return { repoDigest: `${inputs.imageName.split(":")[0]}@sha256:${"a".repeat(64)}` };
        default:
            return {};
    }
}

/** Runs fn with these environment variables set, and puts the environment back afterwards. */
export async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
        return await fn();
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

/** Extra outputs a mocked resource reports, by type (e.g. a container's ports). */
export type MockState = (type: string, name: string, inputs: any) => Record<string, any>;

export async function runProgram(
    stack: string,
    config: Record<string, string>,
    secretKeys: string[],
    state: MockState = () => ({}),
): Promise<MockRun> {
    const resources: RegisteredResource[] = [];
    const byUrn = new Map<string, Partial<RegisteredResource>>();
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                const outputs = { ...defaultOutputs(args.type, args.name, args.inputs), ...state(args.type, args.name, args.inputs) };
                return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
            },
            call: (args) => args.inputs,
        },
        "keel",
        stack,
        false,
    );
    // Wrap the mock monitor to see the options that the mocks API leaves out.
    const monitor: any = (pulumi.runtime as any).getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) =>
        register(req, (err: any, resp: any) => {
            if (!err) {
                const entry: RegisteredResource = {
                    type: req.getType(),
                    name: req.getName(),
                    urn: resp.getUrn(),
                    inputs: pulumi.runtime.deserializeProperties(req.getObject()),
                    parent: req.getParent(),
                    protect: req.getProtect() === true,
                    retainOnDelete: req.getRetainondelete() === true,
                    dependsOn: req.getDependenciesList(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                };
                resources.push(entry);
                byUrn.set(entry.urn, entry);
            }
            callback(err, resp);
        });
    pulumi.runtime.setAllConfig(config, secretKeys);

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program: () => Promise<Record<string, pulumi.Input<unknown>>> = require("../../index");
    let raw: Record<string, pulumi.Input<unknown>>;
    try {
        raw = await program();
    } catch (err) {
        // What the program had declared when it failed: a test of "declares nothing" reads it from the error.
        await new Promise((r) => setImmediate(r));
        throw Object.assign(err as Error, { registered: [...resources] });
    }
    const outputs: Record<string, any> = {};
    for (const [k, v] of Object.entries(raw)) outputs[k] = await resolved(v);
    // Outputs resolve after their resources register; let the last registrations land.
    await new Promise((r) => setImmediate(r));
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    return {
        resources,
        outputs,
        ofType,
        one(type) {
            const found = ofType(type);
            if (found.length !== 1)
                throw new Error(`expected one ${type}, found ${found.length}: ${resources.map((r) => r.type).join(", ")}`);
            return found[0];
        },
    };
}

/** An output's value and whether it is secret. */
export interface Resolved {
    value: unknown;
    secret: boolean;
}

async function resolved(v: pulumi.Input<unknown>): Promise<Resolved> {
    const o: pulumi.Output<unknown> = pulumi.output(v) as pulumi.Output<unknown>;
    const value = await new Promise((resolve) => o.apply((x: unknown) => resolve(x)));
    return { value, secret: await (o as any).isSecret };
}
