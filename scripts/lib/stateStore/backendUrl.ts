/**
 * Where a stack's state lives, read from PULUMI_BACKEND_URL as Pulumi's
 * self-managed backend reads it (pkg/backend/diy through gocloud.dev): the
 * scheme picks the store, the host is the bucket (container), a path is a
 * prefix inside it, and the query tunes the client. Pure: no SDK, no I/O.
 *
 * Each query parameter Pulumi accepts either takes effect on Keel's reads or
 * only concerns writes (encryption, checksums, rate limits); one Keel cannot
 * honour, or Pulumi does not know, is refused by name.
 */
import { KeelError } from "../../../components/errors";

export class BackendUrlError extends KeelError {
    constructor(message: string) {
        super(message, "BackendUrlError");
    }
}

export type StoreKind = "file" | "s3" | "gs" | "azblob";

/** A self-managed backend: a directory, or a bucket (container) and a key prefix in it. */
export interface StoreLocation {
    kind: StoreKind;
    /** The bucket or container; for file://, the directory. */
    bucket: string;
    /** Keys start with this ("" or "a/b/"). */
    prefix: string;
    /** The query parameters Keel's reads honour, by gocloud's names. */
    params: Record<string, string>;
    /** The URL without credentials, for messages and cache keys. */
    display: string;
}

export type StateBackend = { kind: "service"; url: string } | StoreLocation;

/** Parameters that only change how Pulumi writes, or its client's pacing: nothing Keel's reads depend on. */
const WRITE_ONLY: Record<string, string[]> = {
    s3: [
        "ssetype",
        "kmskeyid",
        "rate_limiter_capacity",
        "request_checksum_calculation",
        "response_checksum_validation",
        "awssdk",
        "hostname_immutable",
    ],
    gs: [],
    azblob: ["cdn"],
    file: ["no_tmp_dir", "create_dir", "dir_file_mode", "metadata", "base_url", "secret_key_path"],
};

/** Parameters Keel's reads honour. */
const HONOURED: Record<StoreKind, string[]> = {
    s3: [
        "region",
        "endpoint",
        "profile",
        "use_path_style",
        "s3ForcePathStyle",
        "disable_https",
        "disableSSL",
        "anonymous",
        "dualstack",
        "fips",
        "accelerate",
    ],
    gs: ["private_key_path"],
    azblob: ["domain", "protocol", "localemu", "storage_account"],
    file: [],
};

/** Parameters Pulumi accepts that Keel's reader cannot honour, with what to do instead. */
const UNSUPPORTED: Partial<Record<StoreKind, Record<string, string>>> = {
    s3: {
        role:
            "Keel's history reader does not assume roles (the 'role' parameter); give the process that role's credentials instead " +
            "(in GitHub Actions: aws-actions/configure-aws-credentials with role-to-assume) and drop 'role' from the URL",
    },
    gs: {
        anonymous:
            "Keel's history reader does not read a bucket anonymously ('anonymous'); give it credentials (GOOGLE_CREDENTIALS) and drop the parameter",
        access_id:
            "'access_id' only signs URLs, which Keel's history reader does not use: drop it, and give credentials through GOOGLE_CREDENTIALS",
    },
};

const BOOLEAN = new Set([
    "use_path_style",
    "s3ForcePathStyle",
    "disable_https",
    "disableSSL",
    "anonymous",
    "dualstack",
    "fips",
    "accelerate",
    "localemu",
]);

/** The backend URL with any user:password part masked. */
export function redactBackendUrl(url: string): string {
    return url.replace(/\/\/[^@/?#]*@/, "//****@");
}

export function parseStateBackend(url: string): StateBackend {
    const display = redactBackendUrl(url);
    if (/^https?:\/\//i.test(url)) return { kind: "service", url };
    const scheme = /^([a-z0-9]+):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (scheme === "file") {
        const [pathPart, query = ""] = url.slice("file://".length).split("?", 2);
        const params = checkParams("file", new URLSearchParams(query), display);
        return { kind: "file", bucket: decodeURIComponent(pathPart), prefix: "", params, display };
    }
    if (scheme !== "s3" && scheme !== "gs" && scheme !== "azblob") {
        throw new BackendUrlError(
            `PULUMI_BACKEND_URL '${display}' is not a state backend Keel can read: use file://<dir>, s3://<bucket>, gs://<bucket>, ` +
                `azblob://<container> or Pulumi Cloud (https://api.pulumi.com); postgres:// state is not supported by Keel's history reader`,
        );
    }
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new BackendUrlError(
            `PULUMI_BACKEND_URL '${display}' is not a URL: write it as ${scheme}://<bucket>[/<prefix>][?<parameters>]`,
        );
    }
    if (!u.hostname)
        throw new BackendUrlError(`PULUMI_BACKEND_URL '${display}' names no bucket: write it as ${scheme}://<bucket>[/<prefix>]`);
    const sub = decodeURIComponent(u.pathname).replace(/^\/+/, "");
    const params = checkParams(scheme, u.searchParams, display);
    return { kind: scheme, bucket: u.hostname, prefix: sub && !sub.endsWith("/") ? `${sub}/` : sub, params, display };
}

function checkParams(kind: StoreKind, query: URLSearchParams, display: string): Record<string, string> {
    const params: Record<string, string> = {};
    for (const [name, value] of query) {
        if (WRITE_ONLY[kind].includes(name)) continue;
        const unsupported = UNSUPPORTED[kind]?.[name];
        if (unsupported) throw new BackendUrlError(`PULUMI_BACKEND_URL '${display}': ${unsupported}`);
        if (!HONOURED[kind].includes(name)) {
            const known = [...HONOURED[kind], ...WRITE_ONLY[kind]];
            throw new BackendUrlError(
                `PULUMI_BACKEND_URL '${display}' has the query parameter '${name}', which Pulumi's ${kind}:// backend does not accept` +
                    (known.length ? ` (it accepts ${known.join(", ")})` : "") +
                    `: remove or correct it`,
            );
        }
        if (BOOLEAN.has(name) && !/^(true|false|1|0)$/i.test(value)) {
            throw new BackendUrlError(
                `PULUMI_BACKEND_URL '${display}': '${name}=${value}' is not a boolean: write ${name}=true or ${name}=false`,
            );
        }
        params[name] = value;
    }
    return params;
}

/** A boolean query parameter's value (Go's strconv.ParseBool for the forms accepted above). */
export function flag(params: Record<string, string>, ...names: string[]): boolean {
    return names.some((n) => /^(true|1)$/i.test(params[n] ?? ""));
}

/**
 * The S3 endpoint as Pulumi resolves it: a scheme-less endpoint gets https://,
 * or http:// with disableSSL (pkg/backend/diy translateLegacyS3Params).
 */
export function s3Endpoint(params: Record<string, string>): string | undefined {
    const endpoint = params.endpoint;
    if (!endpoint) return undefined;
    if (endpoint.includes("://")) return endpoint;
    return `${flag(params, "disableSSL", "disable_https") ? "http" : "https"}://${endpoint}`;
}
