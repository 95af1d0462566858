/**
 * FlyIpAddresses: the app's public addresses — a shared IPv4 (type shared_v4)
 * and a dedicated IPv6 (type v6), each when asked. Addresses the app has
 * already are adopted (and never released by Keel); those Keel allocates are
 * recorded in `allocated` and are the only ones delete releases. Read reports
 * an address released outside Keel as drift, and the next `pulumi up`
 * allocates a new one.
 */
import * as pulumi from "@pulumi/pulumi";
import { FlyApiError, FlyClient, IpAssignment } from "../../vendors/fly";
import { changed, dynamicType, isUnknown, KeelDynamicResource, versioned } from "../../providerContext";
import { appNameFailures, appReplaces, lostOrTaken, orMissing, readOfApp } from "./common";
import { flyContext } from "./context";

export interface FlyIpAddressesInputs {
    app: string;
    sharedIpv4: boolean;
    ipv6: boolean;
}

export interface FlyIpAddressesOutputs extends FlyIpAddressesInputs {
    /** The shared IPv4 address, when sharedIpv4. */
    ipv4?: string;
    /** The dedicated IPv6 address, when ipv6. */
    ipv6Address?: string;
    /** The addresses Keel allocated (and releases on delete); adopted ones are not here. */
    allocated: string[];
    /** What `pulumi refresh` found changed outside Keel; empty when nothing. */
    drift: string[];
}

const ctx = flyContext();

function isSharedV4(ip: IpAssignment): boolean {
    return ip.shared === true && !!ip.ip && !ip.ip.includes(":");
}

/** A public, dedicated IPv6 (not the app's private fdaa: network address). */
function isPublicV6(ip: IpAssignment): boolean {
    return ip.shared !== true && !!ip.ip && ip.ip.includes(":") && !ip.ip.toLowerCase().startsWith("fdaa:");
}

interface Kind {
    label: string;
    type: "shared_v4" | "v6";
    matches: (ip: IpAssignment) => boolean;
}

const KINDS = {
    ipv4: { label: "shared IPv4", type: "shared_v4", matches: isSharedV4 } as Kind,
    ipv6: { label: "dedicated IPv6", type: "v6", matches: isPublicV6 } as Kind,
};

/** Allocates one address; when the response is lost, looks for a new one before asking again. */
async function allocate(fly: FlyClient, app: string, kind: Kind, before: IpAssignment[]): Promise<string> {
    const known = new Set(before.map((i) => i.ip));
    for (let attempt = 1; ; attempt++) {
        try {
            const ip = await fly.assignIp(app, { type: kind.type });
            if (!ip.ip) throw new FlyApiError(`Fly API POST /apps/${app}/ip_assignments answered without an address`);
            return ip.ip;
        } catch (err) {
            if (!lostOrTaken(err) || attempt >= 3) throw err;
            ctx.log.info(`${kind.label} of Fly app '${app}': the response to the allocation was lost; looking for it before asking again`);
            const appeared = (await fly.listIpAssignments(app)).find((i) => kind.matches(i) && !known.has(i.ip));
            if (appeared?.ip) return appeared.ip;
        }
    }
}

/** Makes the app's addresses what the inputs ask for; `prev` is the recorded state (update). */
async function ensure(inputs: FlyIpAddressesInputs, prev?: FlyIpAddressesOutputs): Promise<FlyIpAddressesOutputs> {
    const fly = ctx.client();
    const app = inputs.app;
    const ips = await fly.listIpAssignments(app);
    const present = new Set(ips.map((i) => i.ip));
    const allocated = new Set((prev?.allocated ?? []).filter((ip) => present.has(ip)));
    const result: { ipv4?: string; ipv6Address?: string } = {};

    const one = async (wanted: boolean, kind: Kind, recorded: string | undefined): Promise<string | undefined> => {
        if (!wanted) {
            if (recorded && allocated.has(recorded)) {
                ctx.log.info(`releasing the ${kind.label} ${recorded} of Fly app '${app}' (no longer asked for)`);
                await orMissing(fly.releaseIp(app, recorded));
                allocated.delete(recorded);
            }
            return undefined;
        }
        const existing = ips.find((i) => i.ip === recorded && kind.matches(i)) ?? ips.find(kind.matches);
        if (existing?.ip) {
            if (existing.ip !== recorded && !allocated.has(existing.ip))
                ctx.log.info(`Fly app '${app}' has the ${kind.label} ${existing.ip}; adopting it (Keel will not release it)`);
            return existing.ip;
        }
        const ip = await allocate(fly, app, kind, ips);
        allocated.add(ip);
        ctx.log.info(`allocated the ${kind.label} ${ip} for Fly app '${app}'`);
        return ip;
    };

    const ipv4 = await one(inputs.sharedIpv4, KINDS.ipv4, prev?.ipv4);
    if (ipv4) result.ipv4 = ipv4;
    const ipv6Address = await one(inputs.ipv6, KINDS.ipv6, prev?.ipv6Address);
    if (ipv6Address) result.ipv6Address = ipv6Address;
    return { ...inputs, ...result, allocated: [...allocated].sort(), drift: [] };
}

export const flyIpAddressesProvider = versioned<FlyIpAddressesInputs, FlyIpAddressesOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures = appNameFailures(news.app);
            for (const k of ["sharedIpv4", "ipv6"] as const) {
                if (!isUnknown(news[k]) && typeof news[k] !== "boolean") failures.push({ property: k, reason: "expected true or false" });
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces = appReplaces(olds, news);
            const missing = (news.sharedIpv4 === true && !olds.ipv4) || (news.ipv6 === true && !olds.ipv6Address);
            const changes = replaces.length > 0 || missing || changed(olds.sharedIpv4, news.sharedIpv4) || changed(olds.ipv6, news.ipv6);
            return { changes, replaces, deleteBeforeReplace: false };
        },

        async create(inputs) {
            const outs = await ensure(inputs);
            return { id: `${inputs.app}/ips`, outs };
        },

        async update(_id, olds, news) {
            return { outs: await ensure(news, olds) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const fly = ctx.client();
            const ips = await readOfApp(ctx.log, props.app, "IP addresses", fly.listIpAssignments(props.app));
            if (!ips) return { id: "" };
            const present = new Set(ips.map((i) => i.ip));
            const drift: string[] = [];
            const next: FlyIpAddressesOutputs = { ...props, allocated: (props.allocated ?? []).filter((ip) => present.has(ip)) };
            if (props.ipv4 && !present.has(props.ipv4)) {
                drift.push(`- ipv4: the shared IPv4 ${props.ipv4} was released outside Keel; the next 'pulumi up' allocates one again`);
                delete next.ipv4;
            }
            if (props.ipv6Address && !present.has(props.ipv6Address)) {
                drift.push(
                    `- ipv6Address: the IPv6 ${props.ipv6Address} was released outside Keel; the next 'pulumi up' allocates a new one (update DNS records that name it)`,
                );
                delete next.ipv6Address;
            }
            if (drift.length) ctx.log.warn(`drift in the IP addresses of Fly app '${props.app}':\n  ${drift.join("\n  ")}`);
            return { id, props: { ...next, drift } };
        },

        async delete(_id, props) {
            const fly = ctx.client();
            for (const ip of props.allocated ?? []) {
                ctx.log.info(`releasing ${ip} of Fly app '${props.app}'`);
                // 404: released already, or gone with the app.
                await orMissing(fly.releaseIp(props.app, ip));
            }
        },
    },
);

export interface FlyIpAddressesArgs {
    app: pulumi.Input<string>;
    sharedIpv4: pulumi.Input<boolean>;
    ipv6: pulumi.Input<boolean>;
}

export class FlyIpAddresses extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("FlyIpAddresses");
    declare readonly ipv4: pulumi.Output<string | undefined>;
    declare readonly ipv6Address: pulumi.Output<string | undefined>;
    declare readonly allocated: pulumi.Output<string[]>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: FlyIpAddressesArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            flyIpAddressesProvider,
            FlyIpAddresses.__pulumiType,
            name,
            { ...args, ipv4: undefined, ipv6Address: undefined, allocated: undefined, drift: undefined },
            opts,
        );
    }
}
