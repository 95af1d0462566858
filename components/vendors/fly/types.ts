/** The shapes of the Fly Machines API Keel uses (a subset of fly-machines.openapi.yml). */

export interface FlyApp {
    id?: string;
    name?: string;
    machine_count?: number;
    volume_count?: number;
    network?: string;
    organization?: { name?: string; slug?: string; internal_numeric_id?: number };
    status?: string;
    internal_numeric_id?: number;
}

export interface CreateAppRequest {
    name: string;
    org_slug: string;
    network?: string;
    enable_subdomains?: boolean;
}

export interface MachineCheckConfig {
    type?: "tcp" | "http" | string;
    port?: number;
    interval?: string;
    timeout?: string;
    grace_period?: string;
    method?: string;
    path?: string;
    protocol?: string;
    kind?: "informational" | "readiness";
}

export interface MachineService {
    protocol?: string;
    internal_port?: number;
    autostart?: boolean;
    autostop?: string;
    min_machines_running?: number;
    ports?: { port?: number; handlers?: string[]; force_https?: boolean }[];
    checks?: Record<string, unknown>[];
    [key: string]: unknown;
}

/** fly.MachineConfig (what Keel sets; other keys pass through). */
export interface MachineConfig {
    image?: string;
    env?: Record<string, string>;
    metadata?: Record<string, string>;
    guest?: { cpu_kind?: string; cpus?: number; memory_mb?: number; [key: string]: unknown };
    services?: MachineService[];
    checks?: Record<string, MachineCheckConfig>;
    restart?: { policy?: "no" | "always" | "on-failure" | string; max_retries?: number };
    auto_destroy?: boolean;
    [key: string]: unknown;
}

export interface CheckStatus {
    name?: string;
    status?: string;
    output?: string;
    updated_at?: string;
}

export interface Machine {
    id: string;
    name?: string;
    state?: string;
    region?: string;
    instance_id?: string;
    private_ip?: string;
    config?: MachineConfig;
    image_ref?: { registry?: string; repository?: string; tag?: string; digest?: string };
    checks?: CheckStatus[];
    events?: { id?: string; type?: string; status?: string; source?: string; timestamp?: number }[];
    lease?: { description?: string; expires_at?: number; owner?: string };
    /** Only on creation with lease_ttl. */
    nonce?: string;
    created_at?: string;
    updated_at?: string;
}

export interface CreateMachineRequest {
    config: MachineConfig;
    name?: string;
    region?: string;
    lease_ttl?: number;
    /** The app's secrets version the machine must see (Secrets_update's `version`). */
    min_secrets_version?: number;
    skip_launch?: boolean;
    skip_secrets?: boolean;
    skip_service_registration?: boolean;
}

export interface UpdateMachineRequest extends CreateMachineRequest {
    current_version?: string;
}

export type MachineState = "started" | "stopped" | "suspended" | "destroyed" | "failed" | "settled";

export interface WaitResponse {
    ok?: boolean;
    state?: string;
    version?: string;
    event_id?: string;
}

export interface Lease {
    nonce?: string;
    owner?: string;
    description?: string;
    /** Unix seconds. */
    expires_at?: number;
    version?: string;
}

export interface AppSecret {
    name?: string;
    digest?: string;
    value?: string;
    created_at?: string;
    updated_at?: string;
}

export interface SecretsVersion {
    version?: number;
    secrets?: AppSecret[];
}

export interface IpAssignment {
    ip?: string;
    region?: string;
    service_name?: string;
    shared?: boolean;
    created_at?: string;
}

export interface AssignIpRequest {
    /** v4, v6, shared_v4, private_v6 (the spec gives no enum). */
    type: string;
    region?: string;
    network?: string;
    org_slug?: string;
    service_name?: string;
}

/** fly's DNSRequirements: what the hostname's DNS must say for the certificate. */
export interface DnsRequirements {
    a?: string[];
    aaaa?: string[];
    /** The app's hostname to CNAME to (`app.fly.dev`). */
    cname?: string;
    acme_challenge?: { name?: string; target?: string };
    ownership?: { name?: string; app_value?: string; org_value?: string };
}

export interface CertificateEntry {
    created_at?: string;
    expires_at?: string;
    issuer?: string;
    source?: "custom" | "fly" | string;
    status?: "active" | "pending_ownership" | "pending_validation" | string;
}

/** CertificateDetail (Certificates_show, acme create); CertificateCheckResponse adds dns_records. */
export interface CertificateDetail {
    hostname?: string;
    status?: string;
    configured?: boolean;
    acme_requested?: boolean;
    dns_provider?: string;
    dns_requirements?: DnsRequirements;
    certificates?: CertificateEntry[];
    validation?: { alpn_configured?: boolean; dns_configured?: boolean; http_configured?: boolean; ownership_txt_configured?: boolean };
    validation_errors?: { code?: string; message?: string; remediation?: string; timestamp?: string }[];
    rate_limited_until?: string;
}

export interface CertificateCheckResponse extends CertificateDetail {
    dns_records?: {
        a?: string[];
        aaaa?: string[];
        cname?: string[];
        acme_challenge_cname?: string;
        ownership_txt?: string;
        resolved_addresses?: string[];
        soa?: string;
    };
}

export interface CertificateSummary {
    hostname?: string;
    status?: string;
    configured?: boolean;
    acme_requested?: boolean;
    has_fly_certificate?: boolean;
    has_custom_certificate?: boolean;
    created_at?: string;
    updated_at?: string;
}
