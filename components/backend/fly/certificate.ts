/**
 * FlyCertificate: a Let's Encrypt certificate for one of the app's custom
 * hostnames. Create requests it (or adopts the one the app has), and reports
 * (and logs) the DNS records the user must create for Fly to validate and
 * serve it. Read reports a status change, changed DNS requirements or a
 * certificate removed outside Keel as drift; the next `pulumi up` requests a
 * removed one again. Delete removes it.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelError } from "../../errors";
import type { CertificateDetail, DnsRequirements } from "../../vendors/fly";
import { changed, dynamicType, isUnknown, KeelDynamicResource, versioned } from "../../providerContext";
import { appNameFailures, lostOrTaken, orMissing } from "./common";
import { flyContext } from "./context";

export interface FlyCertificateInputs {
    app: string;
    hostname: string;
}

export interface DnsRecord {
    type: string;
    name: string;
    value: string;
}

export interface FlyCertificateOutputs extends FlyCertificateInputs {
    /** Fly's status of the certificate; `missing` after a refresh found it removed. */
    status: string;
    /** What the hostname's DNS must say (the address or CNAME, and the ACME challenge CNAME). */
    dnsRecords: DnsRecord[];
    /** What `pulumi refresh` found changed outside Keel; empty when nothing. */
    drift: string[];
}

/** A certificate that cannot be had (the hostname is another app's). */
export class FlyCertificateError extends KeelError {
    constructor(message: string) {
        super(message, "FlyCertificateError");
    }
}

export const MISSING = "missing";

const ctx = flyContext();

function what(inputs: FlyCertificateInputs): string {
    return `the certificate for ${inputs.hostname} on Fly app '${inputs.app}'`;
}

/**
 * The records to create: a CNAME to the app for a subdomain; A and AAAA
 * records for an apex domain (which cannot have a CNAME); and the ACME
 * challenge CNAME, which lets Fly validate (and renew) before traffic moves.
 */
export function dnsRecordsFor(hostname: string, req: DnsRequirements | undefined): DnsRecord[] {
    const records: DnsRecord[] = [];
    const bare = hostname.replace(/^\*\./, "");
    const apex = bare.split(".").length <= 2;
    if (!apex && req?.cname) {
        records.push({ type: "CNAME", name: hostname, value: req.cname });
    } else {
        for (const a of req?.a ?? []) records.push({ type: "A", name: hostname, value: a });
        for (const aaaa of req?.aaaa ?? []) records.push({ type: "AAAA", name: hostname, value: aaaa });
    }
    if (req?.acme_challenge?.name && req.acme_challenge.target)
        records.push({ type: "CNAME", name: req.acme_challenge.name, value: req.acme_challenge.target });
    return records;
}

function formatRecords(records: DnsRecord[]): string {
    return records.map((r) => `${r.type} ${r.name} -> ${r.value}`).join("\n  ");
}

function outputs(inputs: FlyCertificateInputs, cert: CertificateDetail): FlyCertificateOutputs {
    return {
        app: inputs.app,
        hostname: inputs.hostname,
        status: cert.status ?? "unknown",
        dnsRecords: dnsRecordsFor(inputs.hostname, cert.dns_requirements),
        drift: [],
    };
}

async function findOrRequest(inputs: FlyCertificateInputs): Promise<FlyCertificateOutputs> {
    const fly = ctx.client();
    let cert: CertificateDetail | undefined;
    for (let attempt = 1; !cert; attempt++) {
        const existing = await orMissing(fly.getCertificate(inputs.app, inputs.hostname));
        if (existing) {
            ctx.log.info(`${what(inputs)} exists${attempt > 1 ? " (requested although the response was lost)" : ""}; adopting it`);
            cert = existing;
            break;
        }
        try {
            ctx.log.info(`requesting ${what(inputs)}`);
            cert = await fly.requestAcmeCertificate(inputs.app, inputs.hostname);
        } catch (err) {
            const why = lostOrTaken(err);
            if (!why || attempt >= 3) throw err;
            if (why === "taken" && !(await orMissing(fly.getCertificate(inputs.app, inputs.hostname)))) {
                throw new FlyCertificateError(
                    `Fly refused ${what(inputs)}: ${(err as Error).message}. A hostname can have a certificate on one app only: ` +
                        `remove it from the other app (fly certs remove ${inputs.hostname} -a <other app>), or take it out of keel:backend.fly.domains.`,
                );
            }
            if (why === "lost") ctx.log.info(`${what(inputs)}: the response to the request was lost; looking for it before asking again`);
        }
    }
    const outs = outputs(inputs, cert);
    if (outs.dnsRecords.length) {
        ctx.log.info(
            `${what(inputs)} is ${outs.status}. Create these DNS records for ${inputs.hostname} so Fly can validate and serve it:\n  ${formatRecords(outs.dnsRecords)}`,
        );
    } else {
        ctx.log.warn(
            `${what(inputs)} is ${outs.status}, but Fly named no DNS records yet (the app has no public IP addresses?); see 'fly certs setup ${inputs.hostname} -a ${inputs.app}'.`,
        );
    }
    return outs;
}

export const flyCertificateProvider = versioned<FlyCertificateInputs, FlyCertificateOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures = appNameFailures(news.app);
            if (
                !isUnknown(news.hostname) &&
                (typeof news.hostname !== "string" || !/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(news.hostname))
            ) {
                failures.push({ property: "hostname", reason: "expected a host name such as api.example.com" });
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces = (["app", "hostname"] as const).filter((k) => changed(olds[k], news[k]) || isUnknown(news[k]));
            // Removed outside Keel (refresh said so): request it again.
            const changes = replaces.length > 0 || olds.status === MISSING;
            return { changes, replaces, deleteBeforeReplace: false };
        },

        async create(inputs) {
            const outs = await findOrRequest(inputs);
            return { id: `${inputs.app}/${inputs.hostname}`, outs };
        },

        async update(_id, _olds, news) {
            return { outs: await findOrRequest(news) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const fly = ctx.client();
            const cert = await orMissing(fly.getCertificate(props.app, props.hostname));
            if (!cert) {
                const drift = [
                    `- certificate: ${what(props)} was removed outside Keel (or the app was); the next 'pulumi up' requests it again`,
                ];
                ctx.log.warn(`drift: ${drift[0]}`);
                return { id, props: { ...props, status: MISSING, drift } };
            }
            const now = outputs(props, cert);
            const drift: string[] = [];
            if (now.status !== props.status) drift.push(`~ status: ${props.status} -> ${now.status}`);
            if (changed(props.dnsRecords, now.dnsRecords))
                drift.push(`~ dnsRecords: Fly now asks for\n    ${formatRecords(now.dnsRecords).split("\n  ").join("\n    ")}`);
            if (drift.length) ctx.log.warn(`${what(props)} changed since it was last recorded:\n  ${drift.join("\n  ")}`);
            return { id, props: { ...props, status: now.status, dnsRecords: now.dnsRecords, drift } };
        },

        async delete(_id, props) {
            const fly = ctx.client();
            ctx.log.info(`removing ${what(props)}`);
            // 404: removed already, or gone with the app.
            await orMissing(fly.deleteCertificate(props.app, props.hostname));
        },
    },
);

export interface FlyCertificateArgs {
    app: pulumi.Input<string>;
    hostname: pulumi.Input<string>;
}

export class FlyCertificate extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("FlyCertificate");
    declare readonly status: pulumi.Output<string>;
    declare readonly dnsRecords: pulumi.Output<DnsRecord[]>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: FlyCertificateArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            flyCertificateProvider,
            FlyCertificate.__pulumiType,
            name,
            { ...args, status: undefined, dnsRecords: undefined, drift: undefined },
            opts,
        );
    }
}
