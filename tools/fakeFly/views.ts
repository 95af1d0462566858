/** The fake Fly API's answers in the spec's shapes (shared/specs/fly-machines.openapi.yml), and its ids and timestamps. */
import { createHash, randomBytes } from "crypto";
import type { FakeFlyApp, FakeFlyCertificate, FakeFlyMachine } from "./types";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A 26-character ULID-like id (instance ids, event ids). */
export function ulid(): string {
    const bytes = randomBytes(26);
    return Array.from(bytes, (b) => CROCKFORD[b % 32]).join("");
}

export function iso(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function appView(app: FakeFlyApp, all: Iterable<FakeFlyMachine>): unknown {
    const machines = [...all].filter((m) => m.app === app.name && m.state !== "destroyed");
    return {
        id: app.id,
        name: app.name,
        internal_numeric_id: app.internal_numeric_id,
        machine_count: machines.length,
        volume_count: 0,
        network: app.network,
        organization: { name: app.org_slug, slug: app.org_slug, internal_numeric_id: 1 },
        status: app.status ?? (machines.some((m) => m.state === "started") ? "deployed" : "pending"),
    };
}

export function leaseView(lease: NonNullable<FakeFlyMachine["lease"]>): unknown {
    return {
        nonce: lease.nonce,
        owner: lease.owner,
        description: lease.description,
        expires_at: Math.floor(lease.expiresMs / 1000),
        version: lease.version,
    };
}

export function secretView(app: FakeFlyApp, name: string, show: boolean): unknown {
    const s = app.secrets.get(name)!;
    const digest = createHash("sha256").update(s.value).digest("hex").slice(0, 16);
    return { name, digest, created_at: s.created_at, updated_at: s.updated_at, ...(show ? { value: s.value } : {}) };
}

export function ipView(ip: FakeFlyApp["ips"][number]): unknown {
    return { ip: ip.ip, region: ip.region, service_name: ip.service_name, shared: ip.shared, created_at: ip.created_at };
}

export function certificateView(app: FakeFlyApp, cert: FakeFlyCertificate, nowMs: number): unknown {
    const addresses = app.ips.filter((i) => !i.ip.startsWith("fdaa:"));
    return {
        hostname: cert.hostname,
        status: cert.status,
        configured: cert.dnsConfigured,
        acme_requested: true,
        dns_provider: "unknown",
        dns_requirements: {
            a: addresses.filter((i) => !i.ip.includes(":")).map((i) => i.ip),
            aaaa: addresses.filter((i) => i.ip.includes(":")).map((i) => i.ip),
            cname: `${app.name}.fly.dev`,
            acme_challenge: { name: `_acme-challenge.${cert.hostname.replace(/^\*\./, "")}`, target: cert.acmeTarget },
            ownership: {
                name: `_fly-ownership.${cert.hostname.replace(/^\*\./, "")}`,
                app_value: `app-${app.internal_numeric_id}`,
                org_value: `org-${app.org_slug}`,
            },
        },
        certificates:
            cert.status === "active"
                ? [
                      {
                          source: "fly",
                          status: "active",
                          issuer: "Let's Encrypt",
                          created_at: cert.updated_at,
                          expires_at: iso(nowMs + 90 * 86_400_000),
                      },
                  ]
                : [],
        validation: {
            dns_configured: cert.dnsConfigured,
            alpn_configured: false,
            http_configured: false,
            ownership_txt_configured: false,
        },
        validation_errors: [],
    };
}
