/**
 * An azblob:// backend through Microsoft's SDK (@azure/storage-blob), with the
 * environment gocloud's azureblob reads for Pulumi: a connection string, or an
 * account with its key or a SAS token; AZURE_STORAGE_DOMAIN, _PROTOCOL and
 * _IS_LOCAL_EMULATOR (or the URL's domain, protocol, localemu and
 * storage_account) for other clouds and the Azurite emulator.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { flag, StoreLocation } from "./backendUrl";
import { StateStore, StateStoreError, storeFailure } from "./store";

/** The blob service's URL as gocloud builds it (azureblob.NewServiceURL). */
export function azureServiceUrl(params: Record<string, string>, env: Record<string, string | undefined>): { url: string; account: string } {
    const account = params.storage_account || env.AZURE_STORAGE_ACCOUNT || "";
    const domain = params.domain || env.AZURE_STORAGE_DOMAIN || "blob.core.windows.net";
    const protocol = params.protocol || env.AZURE_STORAGE_PROTOCOL || "https";
    if (protocol !== "http" && protocol !== "https") {
        throw new StateStoreError(
            `the Azure storage protocol '${protocol}' is neither http nor https: fix protocol= in PULUMI_BACKEND_URL or AZURE_STORAGE_PROTOCOL`,
        );
    }
    const emulator = flag(params, "localemu") || (!("localemu" in params) && /^(true|1)$/i.test(env.AZURE_STORAGE_IS_LOCAL_EMULATOR ?? ""));
    const url =
        domain.startsWith("127.0.0.1") || domain.startsWith("localhost") || emulator
            ? `${protocol}://${domain}/${account}`
            : `${protocol}://${account}.${domain}`;
    return { url, account };
}

function containerClient(location: StoreLocation, env: Record<string, string | undefined>): ContainerClient {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require("@azure/storage-blob") as typeof import("@azure/storage-blob");
    const options = { retryOptions: { maxTries: 5 } };
    const connection = env.AZURE_STORAGE_CONNECTION_STRING || env.AZURE_STORAGEBLOB_CONNECTIONSTRING;
    if (connection && !location.params.storage_account && !location.params.domain) {
        return sdk.BlobServiceClient.fromConnectionString(connection, options).getContainerClient(location.bucket);
    }
    const { url, account } = azureServiceUrl(location.params, env);
    if (!account) {
        throw new StateStoreError(
            `reading the state in ${location.display} needs the storage account: set AZURE_STORAGE_ACCOUNT (or storage_account= in the URL), or AZURE_STORAGE_CONNECTION_STRING`,
        );
    }
    if (env.AZURE_STORAGE_KEY) {
        const credential = new sdk.StorageSharedKeyCredential(account, env.AZURE_STORAGE_KEY);
        return new sdk.BlobServiceClient(url, sdk.newPipeline(credential, options)).getContainerClient(location.bucket);
    }
    if (env.AZURE_STORAGE_SAS_TOKEN) {
        const sas = env.AZURE_STORAGE_SAS_TOKEN.replace(/^\?/, "");
        return new sdk.BlobServiceClient(`${url}?${sas}`, sdk.newPipeline(new sdk.AnonymousCredential(), options)).getContainerClient(
            location.bucket,
        );
    }
    throw new StateStoreError(
        `reading the state in ${location.display} needs Azure storage credentials Keel can use: set AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN ` +
            `(with AZURE_STORAGE_ACCOUNT), or AZURE_STORAGE_CONNECTION_STRING. Keel's history reader does not use Azure AD (DefaultAzureCredential) sign-in`,
    );
}

export function azblobStore(location: StoreLocation, env: Record<string, string | undefined>): StateStore {
    const container = containerClient(location, env);
    const { prefix, display } = location;
    const hint = `Check the Azure storage credentials (AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING) allow reading, writing and deleting blobs in '${location.bucket}'`;
    const fail = (op: string, key: string, err: any) =>
        err?.details?.errorCode === "ContainerNotFound" || err?.code === "ContainerNotFound"
            ? storeFailure(
                  display,
                  op,
                  key,
                  `container '${location.bucket}' does not exist`,
                  "Create it, or fix the container in PULUMI_BACKEND_URL",
              )
            : storeFailure(display, op, key, err, hint);
    return {
        display,
        async list(dir) {
            const found: { key: string; tag: string }[] = [];
            try {
                for await (const item of container.listBlobsByHierarchy("/", { prefix: prefix + dir })) {
                    if (item.kind === "blob")
                        found.push({
                            key: item.name.slice(prefix.length),
                            tag: `${item.properties.etag ?? ""}:${item.properties.contentLength ?? ""}`,
                        });
                }
            } catch (err) {
                throw fail("listing", dir, err);
            }
            return found;
        },
        async read(key) {
            try {
                return await container.getBlobClient(prefix + key).downloadToBuffer();
            } catch (err: any) {
                if (err?.statusCode === 404 && !/ContainerNotFound/.test(err?.details?.errorCode ?? "")) return undefined;
                throw fail("reading", key, err);
            }
        },
        async createIfAbsent(key, body) {
            try {
                await container
                    .getBlockBlobClient(prefix + key)
                    .upload(body, Buffer.byteLength(body), { conditions: { ifNoneMatch: "*" } });
                return true;
            } catch (err: any) {
                if (err?.statusCode === 409 || err?.statusCode === 412) return false;
                throw fail("creating", key, err);
            }
        },
        async remove(key) {
            try {
                await container.getBlobClient(prefix + key).deleteIfExists();
            } catch (err) {
                throw fail("deleting", key, err);
            }
        },
    };
}
