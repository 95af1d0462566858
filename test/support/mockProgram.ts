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

/** Outputs Keel's own dynamic resources report after a create, so stack outputs resolve. */
const DEFAULT_STATE: Record<string, Record<string, unknown>> = {
    "pulumi-nodejs:dynamic/keel:SchemaMigrations": { applied: [], version: "", fingerprint: "0".repeat(64), drift: [], pending: [] },
};

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
                const outputs = { ...(DEFAULT_STATE[args.type] ?? {}), ...state(args.type, args.name, args.inputs) };
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
    const raw = await program();
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
            if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${resources.map((r) => r.type).join(", ")}`);
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
