/**
 * FlyApp: the stack's Fly.io app. Create finds it by name first and adopts
 * one that exists (in the right organization), creates it otherwise, and when
 * the create's response is lost looks again instead of creating twice. Read
 * reports an app deleted outside Keel (refresh drops it) and drift (moved to
 * another organization, suspended). Delete refuses while the stack protects
 * its backend, unless keel:backend.allowDelete says it is meant.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelError, protectedDeletionFix } from "../../errors";
import { FlyApp as FlyAppData } from "../../vendors/fly";
import { changed, dynamicType, isUnknown, KeelDynamicResource, versioned } from "../../providerContext";
import { lostOrTaken, orMissing } from "./common";
import { flyContext } from "./context";

export interface FlyAppInputs {
    name: string;
    orgSlug: string;
    /** The stack that declares the app, for messages. */
    stack: string;
    /** Stage-aware (true in prod): the provider refuses to delete the app, unless allowDelete. */
    protect: boolean;
    /** `keel:backend.allowDelete`: deleting the protected app is meant. */
    allowDelete: boolean;
}

export interface FlyAppOutputs extends FlyAppInputs {
    appId: string;
    /** The same as `name` (the resource's own `name` is taken). */
    appName: string;
    /** `${name}.fly.dev` */
    hostname: string;
    /** Fly's app status (pending, deployed, suspended). */
    status: string;
    /** What `pulumi refresh` found changed outside Keel; empty when nothing. */
    drift: string[];
}

/** Refused deletion of a protected Fly app. */
export class FlyProtectedError extends KeelError {
    constructor(message: string) {
        super(message, "FlyProtectedError");
    }
}

/** A Fly app that cannot be used as the stack's app (another organization's, a name taken). */
export class FlyAppError extends KeelError {
    constructor(message: string) {
        super(message, "FlyAppError");
    }
}

const ctx = flyContext();

function what(name: string): string {
    return `Fly app '${name}'`;
}

function outputs(inputs: FlyAppInputs, app: FlyAppData, drift: string[] = []): FlyAppOutputs {
    return {
        ...inputs,
        appId: app.id ?? inputs.name,
        appName: inputs.name,
        hostname: `${inputs.name}.fly.dev`,
        status: app.status ?? "unknown",
        drift,
    };
}

function orgOf(app: FlyAppData): string | undefined {
    return app.organization?.slug ?? app.organization?.name;
}

/** An existing app must be in the configured organization. */
function checkOrg(app: FlyAppData, inputs: FlyAppInputs): void {
    const org = orgOf(app);
    if (org && org !== inputs.orgSlug) {
        throw new FlyAppError(
            `${what(inputs.name)} exists in the Fly organization '${org}', but the ${inputs.stack} stack's config says '${inputs.orgSlug}'. ` +
                `If it is this stack's app, set the organization to match: npm run pulumi -- config set --path keel:backend.fly.org ${org} --stack ${inputs.stack}; ` +
                `otherwise choose another app name: npm run pulumi -- config set --path keel:backend.fly.app <name> --stack ${inputs.stack}.`,
        );
    }
}

function nameTaken(inputs: FlyAppInputs): FlyAppError {
    return new FlyAppError(
        `The Fly app name '${inputs.name}' is taken by an app this token cannot see (another organization's or user's); Fly app names are global. ` +
            `Choose another name: npm run pulumi -- config set --path keel:backend.fly.app <name> --stack ${inputs.stack}; ` +
            `or, if the app is yours in another organization, use a token of that organization and set keel:backend.fly.org to it.`,
    );
}

async function findOrCreateApp(inputs: FlyAppInputs): Promise<FlyAppOutputs> {
    const fly = ctx.client();
    for (let attempt = 1; ; attempt++) {
        const existing = await orMissing(fly.getApp(inputs.name));
        if (existing) {
            checkOrg(existing, inputs);
            if (attempt === 1)
                ctx.log.info(`${what(inputs.name)} exists in organization '${orgOf(existing) ?? inputs.orgSlug}'; adopting it`);
            else
                ctx.log.info(
                    `${what(inputs.name)} exists now (created although the response was lost, or at the same time elsewhere); adopting it`,
                );
            return outputs(inputs, existing);
        }
        try {
            ctx.log.info(`creating ${what(inputs.name)} in organization '${inputs.orgSlug}'`);
            await fly.createApp({ name: inputs.name, org_slug: inputs.orgSlug });
        } catch (err) {
            const why = lostOrTaken(err);
            if (!why || attempt >= 3) {
                if (why === "taken") throw nameTaken(inputs);
                throw err;
            }
            if (why === "taken") {
                // Taken: someone else's (invisible to us), or one made concurrently; look once more.
                const again = await orMissing(fly.getApp(inputs.name));
                if (!again) throw nameTaken(inputs);
            } else {
                ctx.log.info(`${what(inputs.name)}: the response to the create request was lost; looking for it before trying again`);
            }
            continue;
        }
        // 201 with no body: read it back.
        const created = await fly.getApp(inputs.name);
        ctx.log.info(`created ${what(inputs.name)} (${inputs.name}.fly.dev)`);
        return outputs(inputs, created);
    }
}

export const flyAppProvider = versioned<FlyAppInputs, FlyAppOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (!isUnknown(news.name) && (typeof news.name !== "string" || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(news.name))) {
                failures.push({
                    property: "name",
                    reason: "expected a Fly app name: lowercase letters, digits and dashes, 2 to 63 characters",
                });
            }
            if (!isUnknown(news.orgSlug) && (typeof news.orgSlug !== "string" || !news.orgSlug))
                failures.push({ property: "orgSlug", reason: "expected a Fly organization slug such as personal" });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces = (["name", "orgSlug"] as const).filter((k) => changed(olds[k], news[k]) || isUnknown(news[k]));
            const keys: (keyof FlyAppInputs)[] = ["name", "orgSlug", "stack", "protect", "allowDelete"];
            const changes = replaces.length > 0 || keys.some((k) => changed(olds[k], news[k]));
            // The same name in another organization: the old app must go first (names are global).
            return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && !changed(olds.name, news.name) };
        },

        async create(inputs) {
            const outs = await findOrCreateApp(inputs);
            return { id: inputs.name, outs };
        },

        async update(id, _olds, news) {
            // Only stack, protect and allowDelete change in place: record them, with the app as it is now.
            const fly = ctx.client();
            const app = await orMissing(fly.getApp(id));
            if (!app)
                throw new FlyAppError(
                    `${what(id)} no longer exists in Fly (deleted outside Keel); run 'pulumi refresh --stack ${news.stack}', then 'pulumi up' again to create it.`,
                );
            checkOrg(app, news);
            return { outs: outputs(news, app) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const fly = ctx.client();
            const app = await orMissing(fly.getApp(id));
            if (!app) {
                ctx.log.warn(
                    `${what(id)} no longer exists in Fly (deleted outside Keel); refresh drops it from the state and the next 'pulumi up' creates it.`,
                );
                return { id: "" };
            }
            const drift: string[] = [];
            const org = orgOf(app);
            if (org && org !== props.orgSlug)
                drift.push(`~ orgSlug: '${props.orgSlug}' -> '${org}' (moved to another organization outside Keel)`);
            const status = app.status ?? "unknown";
            if (status !== props.status && (status === "suspended" || props.status === "suspended")) {
                drift.push(`~ status: ${props.status} -> ${status} (${status === "suspended" ? "suspended" : "resumed"} outside Keel)`);
            }
            if (drift.length) ctx.log.warn(`drift in ${what(id)}:\n  ${drift.join("\n  ")}`);
            return { id, props: { ...props, appId: app.id ?? props.appId, status, drift } };
        },

        async delete(id, props) {
            if (props.protect && !props.allowDelete) {
                const stack = props.stack;
                throw new FlyProtectedError(
                    `Refusing to delete ${what(id)} with its machines, IP addresses, certificates and secrets: the ${stack} stack protects its backend. ` +
                        protectedDeletionFix(stack, "keel:backend.allowDelete"),
                );
            }
            const fly = ctx.client();
            ctx.log.info(`deleting ${what(id)}`);
            await orMissing(fly.deleteApp(id));
        },
    },
);

export interface FlyAppArgs {
    name: pulumi.Input<string>;
    orgSlug: pulumi.Input<string>;
    stack: pulumi.Input<string>;
    protect: pulumi.Input<boolean>;
    allowDelete: pulumi.Input<boolean>;
}

export class FlyApp extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("FlyApp");
    declare readonly appName: pulumi.Output<string>;
    declare readonly appId: pulumi.Output<string>;
    declare readonly hostname: pulumi.Output<string>;
    declare readonly status: pulumi.Output<string>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: FlyAppArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            flyAppProvider,
            FlyApp.__pulumiType,
            name,
            { ...args, appId: undefined, appName: undefined, hostname: undefined, status: undefined, drift: undefined },
            opts,
        );
    }
}
