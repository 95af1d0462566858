/**
 * What a CI job needs to open a self-managed state backend in an object store:
 * the store's credentials as GitHub environment secrets (each from a keel:
 * config key or the operator's environment, as the other deploy secrets are),
 * and the URL carrying what is not secret (the S3 region, the Azure storage
 * account), since a runner has no profile or default to fall back on. Pure.
 */

export interface StateCredential {
    /** The GitHub environment secret and the job's variable: AWS_ACCESS_KEY_ID. */
    secret: string;
    /** The keel: config key it comes from: awsAccessKeyId. */
    key: string;
    /** Else the operator's environment variable at npm run up. */
    env: string;
}

const BY_SCHEME: Record<string, StateCredential[]> = {
    s3: [
        { secret: "AWS_ACCESS_KEY_ID", key: "awsAccessKeyId", env: "AWS_ACCESS_KEY_ID" },
        { secret: "AWS_SECRET_ACCESS_KEY", key: "awsSecretAccessKey", env: "AWS_SECRET_ACCESS_KEY" },
    ],
    gs: [{ secret: "GOOGLE_CREDENTIALS", key: "googleCredentials", env: "GOOGLE_CREDENTIALS" }],
    azblob: [{ secret: "AZURE_STORAGE_KEY", key: "azureStorageKey", env: "AZURE_STORAGE_KEY" }],
};

/** Every store's credentials. */
export function allStateCredentials(): StateCredential[] {
    return Object.values(BY_SCHEME).flat();
}

function schemeOf(backendUrl: string | undefined): string | undefined {
    return /^([a-z0-9]+):\/\//i.exec(backendUrl ?? "")?.[1]?.toLowerCase();
}

/** The credentials a job needs for this backend URL; none for Pulumi Cloud or a self-hosted service. */
export function stateCredentials(backendUrl: string | undefined): StateCredential[] {
    return BY_SCHEME[schemeOf(backendUrl) ?? ""] ?? [];
}

/** What a CI job cannot do without, missing from the URL: the S3 region, the Azure storage account. */
export function backendUrlProblems(backendUrl: string): string[] {
    const scheme = schemeOf(backendUrl);
    const query = new URLSearchParams(backendUrl.includes("?") ? backendUrl.slice(backendUrl.indexOf("?") + 1) : "");
    if (scheme === "s3" && !query.get("region")) {
        return ["names no region: a runner has no AWS profile to take it from; add it to the URL, e.g. s3://my-state?region=us-east-1"];
    }
    if (scheme === "azblob" && !query.get("storage_account")) {
        return ["names no storage account: add it to the URL, e.g. azblob://my-state?storage_account=mystorageaccount"];
    }
    return [];
}
