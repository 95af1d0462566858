/** The fake Fly API's certificates (ACME only): create, show, list, check, delete. */
import { randomBytes } from "crypto";
import { HttpError } from "../fakeHttp";
import type { FakeFlyApp, FakeFlyCertificate } from "./types";
import { certificateView, iso } from "./views";

/** Certificates (ACME only): create, show, list, check, delete. */
export function routeCertificates(
    apps: FakeFlyApp[],
    app: FakeFlyApp,
    p: string[],
    method: string,
    body: any,
    nowMs: number,
): [number, unknown] {
    if (p.length === 3 && method === "GET") {
        const certificates = [...app.certificates.values()].map((c) => ({
            hostname: c.hostname,
            status: c.status,
            configured: c.dnsConfigured,
            acme_requested: true,
            has_fly_certificate: c.status === "active",
            has_custom_certificate: false,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }));
        return [200, { certificates, total_count: certificates.length }];
    }
    if (p.length === 4 && p[3] === "acme" && method === "POST") {
        const hostname = body?.hostname;
        if (typeof hostname !== "string" || !/^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/i.test(hostname))
            throw new HttpError(422, `invalid hostname ${JSON.stringify(hostname)}`);
        for (const other of apps) {
            if (other.certificates.has(hostname))
                throw new HttpError(422, `hostname ${hostname} already has a certificate${other === app ? "" : " on another app"}`);
        }
        const cert: FakeFlyCertificate = {
            hostname,
            status: "pending_validation",
            dnsConfigured: false,
            acmeTarget: `${hostname}.${randomBytes(3).toString("hex")}.flydns.net`,
            created_at: iso(nowMs),
            updated_at: iso(nowMs),
        };
        app.certificates.set(hostname, cert);
        return [201, certificateView(app, cert, nowMs)];
    }
    const cert = app.certificates.get(p[3]);
    if (!cert) throw new HttpError(404, `certificate for ${p[3]} not found`);
    if (p.length === 4 && method === "GET") return [200, certificateView(app, cert, nowMs)];
    if (p.length === 4 && method === "DELETE") {
        app.certificates.delete(cert.hostname);
        return [204, undefined];
    }
    if (p.length === 5 && p[4] === "check" && method === "POST") {
        if (cert.dnsConfigured && cert.status !== "active") {
            cert.status = "active";
            cert.updated_at = iso(nowMs);
        }
        const view = certificateView(app, cert, nowMs) as Record<string, unknown>;
        const addresses = app.ips.filter((i) => !i.ip.startsWith("fdaa:"));
        const dns_records = cert.dnsConfigured
            ? {
                  a: addresses.filter((i) => !i.ip.includes(":")).map((i) => i.ip),
                  aaaa: addresses.filter((i) => i.ip.includes(":")).map((i) => i.ip),
                  cname: [],
                  acme_challenge_cname: cert.acmeTarget,
                  resolved_addresses: addresses.map((i) => i.ip),
              }
            : { a: [], aaaa: [], cname: [], resolved_addresses: [] };
        return [200, { ...view, dns_records }];
    }
    throw new HttpError(404, "not found");
}
