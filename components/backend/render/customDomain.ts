/**
 * RenderCustomDomain: a custom domain on the stack's Render web service.
 * Created or adopted (a domain already on the service is taken as it is, and
 * a lost create response is recovered by looking again); outputs Render's
 * verification status (DNS is the owner's to set: Render verifies by itself);
 * refresh reports a domain removed in the dashboard; delete removes it, with
 * the `www.` redirect Render added alongside an apex domain.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelError } from "../../errors";
import { CustomDomain, RenderClient, renderErrorStatus } from "../../vendors/render";
import { changed, dynamicType, KeelDynamicResource, versioned } from "../../providerContext";
import { renderContext } from "./context";

export interface RenderCustomDomainInputs {
    serviceId: string;
    name: string;
}

export interface RenderCustomDomainOutputs extends RenderCustomDomainInputs {
    domainId: string;
    /** verified | unverified */
    verificationStatus: string;
    drift: string[];
}

/** A custom domain Render will not add to this service. */
export class RenderCustomDomainError extends KeelError {
    constructor(message: string) {
        super(message, "RenderCustomDomainError");
    }
}

const ctx = renderContext();

function what(name: string, serviceId: string): string {
    return `custom domain ${name} of Render service ${serviceId}`;
}

function normalize(name: string): string {
    return name.trim().toLowerCase().replace(/\.$/, "");
}

function outputs(inputs: RenderCustomDomainInputs, domain: CustomDomain): RenderCustomDomainOutputs {
    return {
        serviceId: inputs.serviceId,
        name: inputs.name,
        domainId: domain.id,
        verificationStatus: domain.verificationStatus,
        drift: [],
    };
}

function dnsHint(domain: CustomDomain): string {
    if (domain.verificationStatus === "verified") return "verified";
    return domain.domainType === "apex"
        ? "unverified: point its A record (or ALIAS/ANAME) at Render as the dashboard shows; Render verifies it by itself"
        : "unverified: add a CNAME to the service's onrender.com host; Render verifies it by itself";
}

async function findDomain(api: RenderClient, serviceId: string, name: string): Promise<CustomDomain | undefined> {
    return api.getCustomDomain(serviceId, name);
}

export const renderCustomDomainProvider = versioned<RenderCustomDomainInputs, RenderCustomDomainOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.name === "string" && !/^([a-z0-9-]+\.)+[a-z]{2,}$/.test(normalize(news.name))) {
                failures.push({ property: "name", reason: `'${news.name}' is not a domain name (for example api.example.com)` });
            }
            return { inputs: typeof news.name === "string" ? { ...news, name: normalize(news.name) } : news, failures };
        },

        async diff(_id, olds, news) {
            const replaces: string[] = [];
            if (changed(olds.serviceId, news.serviceId)) replaces.push("serviceId");
            if (changed(olds.name, news.name)) replaces.push("name");
            // Delete first: a domain is on one service at a time.
            return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
        },

        async create(inputs) {
            const api = ctx.client();
            const name = normalize(inputs.name);
            let domain = await findDomain(api, inputs.serviceId, name);
            if (domain) {
                ctx.log.info(`${what(name, inputs.serviceId)} exists; adopting it (${domain.verificationStatus})`);
            } else {
                try {
                    const made = await api.createCustomDomain(inputs.serviceId, name);
                    domain = made.find((d) => d.name === name) ?? made[0];
                    const extra = made.filter((d) => d.name !== name).map((d) => d.name);
                    ctx.log.info(
                        `added ${what(name, inputs.serviceId)}${extra.length ? ` (Render added ${extra.join(", ")} with it, redirecting to it)` : ""}`,
                    );
                } catch (err) {
                    const lost = !!(err as { mayHaveBeenProcessed?: boolean }).mayHaveBeenProcessed;
                    const conflict = renderErrorStatus(err) === 409;
                    if (!lost && !conflict) throw err;
                    domain = await findDomain(api, inputs.serviceId, name);
                    if (!domain && conflict) {
                        throw new RenderCustomDomainError(
                            `Render refuses to add ${name} to service ${inputs.serviceId}: it is already a custom domain of another Render service. ` +
                                `Remove it there (Render dashboard > that service > Settings > Custom Domains), then run 'pulumi up' again.`,
                        );
                    }
                    if (!domain) throw err;
                    ctx.log.info(`${what(name, inputs.serviceId)} was added although the response was lost; adopting it`);
                }
            }
            if (!domain)
                throw new RenderCustomDomainError(
                    `Render added ${name} to service ${inputs.serviceId} but did not return it; run 'pulumi up' again.`,
                );
            ctx.log.info(`${what(name, inputs.serviceId)}: ${dnsHint(domain)}`);
            return { id: domain.id, outs: outputs({ ...inputs, name }, domain) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            const domain = await api.getCustomDomain(props.serviceId, id);
            if (!domain) {
                ctx.log.warn(
                    `${what(props.name, props.serviceId)} (${id}) is no longer on the service (removed outside Keel, or the service is gone); ` +
                        `refresh drops it from the state and the next 'pulumi up' adds it again.`,
                );
                return { id: "" };
            }
            const drift: string[] = [];
            if (domain.name !== props.name) drift.push(`~ name: '${props.name}' -> '${domain.name}'`);
            if (props.verificationStatus === "verified" && domain.verificationStatus !== "verified") {
                drift.push(`~ verificationStatus: verified -> ${domain.verificationStatus} (its DNS records changed?)`);
            }
            if (drift.length) ctx.log.warn(`drift in ${what(props.name, props.serviceId)}:\n  ${drift.join("\n  ")}`);
            return { id, props: { ...props, domainId: domain.id, verificationStatus: domain.verificationStatus, drift } };
        },

        async delete(id, props) {
            const api = ctx.client();
            // The www. redirect Render added with an apex domain goes with it.
            const companions = (await api.listCustomDomains(props.serviceId).catch(() => [] as CustomDomain[])).filter(
                (d) => d.redirectForName === props.name && d.id !== id,
            );
            ctx.log.info(
                `removing ${what(props.name, props.serviceId)}${companions.length ? ` and ${companions.map((d) => d.name).join(", ")}` : ""}`,
            );
            await api.deleteCustomDomain(props.serviceId, id);
            for (const d of companions) await api.deleteCustomDomain(props.serviceId, d.id);
        },
    },
);

export interface RenderCustomDomainArgs {
    serviceId: pulumi.Input<string>;
    name: pulumi.Input<string>;
}

export class RenderCustomDomain extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("RenderCustomDomain");
    declare readonly domainId: pulumi.Output<string>;
    declare readonly verificationStatus: pulumi.Output<string>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: RenderCustomDomainArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            renderCustomDomainProvider,
            RenderCustomDomain.__pulumiType,
            name,
            { ...args, domainId: undefined, verificationStatus: undefined, drift: undefined },
            opts,
        );
    }
}
