/** The Fly calls about an app as a whole: the app itself, its secrets, its IP addresses and its certificates. */
import type {
    AppSecret,
    AssignIpRequest,
    CertificateCheckResponse,
    CertificateDetail,
    CertificateSummary,
    CreateAppRequest,
    FlyApp,
    IpAssignment,
    SecretsVersion,
} from "./types";
import { FlyTransport, seg } from "./transport";

export class FlyAppsClient extends FlyTransport {
    listApps(orgSlug: string): Promise<{ apps?: FlyApp[]; total_apps?: number }> {
        return this.data("GET", "/apps", { query: { org_slug: orgSlug } });
    }

    /** 201 with an empty body: read the app back with getApp. */
    async createApp(body: CreateAppRequest): Promise<void> {
        await this.request("POST", "/apps", { body });
    }

    getApp(app: string): Promise<FlyApp> {
        return this.data("GET", `/apps/${seg(app)}`);
    }

    async deleteApp(app: string): Promise<void> {
        await this.request("DELETE", `/apps/${seg(app)}`);
    }

    async listSecrets(app: string, q: { minVersion?: number; showSecrets?: boolean } = {}): Promise<AppSecret[]> {
        const listed = await this.data<{ secrets?: AppSecret[] }>("GET", `/apps/${seg(app)}/secrets`, {
            query: { min_version: q.minVersion, show_secrets: q.showSecrets },
        });
        return listed.secrets ?? [];
    }

    /** Sets (string) and unsets (null) several secrets; returns the new secrets version. */
    updateSecrets(app: string, values: Record<string, string | null>): Promise<SecretsVersion> {
        // Setting absolute values: repeating it does no harm.
        return this.data("POST", `/apps/${seg(app)}/secrets`, { body: { values }, idempotent: true });
    }

    getSecret(app: string, name: string, q: { showSecrets?: boolean } = {}): Promise<AppSecret> {
        return this.data("GET", `/apps/${seg(app)}/secrets/${seg(name)}`, { query: { show_secrets: q.showSecrets } });
    }

    /** Create-or-update one secret. */
    setSecret(app: string, name: string, value: string): Promise<AppSecret & { version?: number }> {
        return this.data("POST", `/apps/${seg(app)}/secrets/${seg(name)}`, { body: { value }, idempotent: true });
    }

    deleteSecret(app: string, name: string): Promise<{ version?: number }> {
        return this.data("DELETE", `/apps/${seg(app)}/secrets/${seg(name)}`);
    }

    async listIpAssignments(app: string): Promise<IpAssignment[]> {
        return (await this.data<{ ips?: IpAssignment[] }>("GET", `/apps/${seg(app)}/ip_assignments`)).ips ?? [];
    }

    assignIp(app: string, body: AssignIpRequest): Promise<IpAssignment> {
        return this.data("POST", `/apps/${seg(app)}/ip_assignments`, { body });
    }

    async releaseIp(app: string, ip: string): Promise<void> {
        await this.request("DELETE", `/apps/${seg(app)}/ip_assignments/${seg(ip)}`);
    }

    /** App_Certificates_list: one page (`next_cursor` for the next). */
    listCertificates(
        app: string,
        q: { filter?: string; cursor?: string; limit?: number } = {},
    ): Promise<{ certificates?: CertificateSummary[]; next_cursor?: string; total_count?: number }> {
        return this.data("GET", `/apps/${seg(app)}/certificates`, { query: { filter: q.filter, cursor: q.cursor, limit: q.limit } });
    }

    /** App_Certificates_acme_create: asks Fly for a Let's Encrypt certificate for the hostname. */
    requestAcmeCertificate(app: string, hostname: string): Promise<CertificateDetail> {
        return this.data("POST", `/apps/${seg(app)}/certificates/acme`, { body: { hostname } });
    }

    getCertificate(app: string, hostname: string): Promise<CertificateDetail> {
        return this.data("GET", `/apps/${seg(app)}/certificates/${seg(hostname)}`);
    }

    /** Removes the hostname's certificates (ACME and custom). */
    async deleteCertificate(app: string, hostname: string): Promise<void> {
        await this.request("DELETE", `/apps/${seg(app)}/certificates/${seg(hostname)}`);
    }

    /** Checks DNS and re-validates; answers with the DNS records Fly sees. */
    checkCertificate(app: string, hostname: string): Promise<CertificateCheckResponse> {
        // Re-validation only reads DNS: repeating it does no harm.
        return this.data("POST", `/apps/${seg(app)}/certificates/${seg(hostname)}/check`, { idempotent: true });
    }
}
