/**
 * A gs:// backend through Google's SDK (@google-cloud/storage): credentials as
 * Pulumi takes them (GOOGLE_CREDENTIALS holding a key's JSON, else Application
 * Default Credentials), STORAGE_EMULATOR_HOST for an emulator, and the SDK's
 * own retries.
 */
import type { StoreLocation } from "./backendUrl";
import { StateStore, StateStoreError, storeFailure } from "./store";

export function gcsStore(location: StoreLocation, env: Record<string, string | undefined>): StateStore {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Storage } = require("@google-cloud/storage") as typeof import("@google-cloud/storage");
    const { params, prefix, display } = location;
    let credentials: object | undefined;
    if (env.GOOGLE_CREDENTIALS) {
        try {
            credentials = JSON.parse(env.GOOGLE_CREDENTIALS);
        } catch {
            throw new StateStoreError(
                `GOOGLE_CREDENTIALS is not a service account key's JSON: put the key file's content in it, or unset it to use Application Default Credentials`,
            );
        }
    }
    const emulator = env.STORAGE_EMULATOR_HOST;
    const storage = new Storage({
        ...(credentials ? { credentials } : {}),
        ...(params.private_key_path ? { keyFilename: params.private_key_path } : {}),
        ...(emulator ? { apiEndpoint: emulator.includes("://") ? emulator : `http://${emulator}` } : {}),
        ...(!params.private_key_path && env.GOOGLE_APPLICATION_CREDENTIALS ? { keyFilename: env.GOOGLE_APPLICATION_CREDENTIALS } : {}),
        // An emulator is reached without signing in (the SDK does not authenticate to a custom endpoint).
        ...(emulator ? { projectId: env.GOOGLE_CLOUD_PROJECT || "keel" } : {}),
        retryOptions: { autoRetry: true, maxRetries: 5 },
    });
    const bucket = storage.bucket(location.bucket);
    const hint =
        `Check the Google credentials this process has (GOOGLE_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS, or the runner's workload identity) ` +
        `allow storage.objects.list, get, create and delete on '${location.bucket}'` +
        (emulator ? ` and that the emulator at ${emulator} (STORAGE_EMULATOR_HOST) answers` : "");
    const fail = (op: string, key: string, err: any) =>
        err?.code === 404 && /bucket/i.test(err?.message ?? "")
            ? storeFailure(
                  display,
                  op,
                  key,
                  `bucket '${location.bucket}' does not exist`,
                  "Create it, or fix the bucket in PULUMI_BACKEND_URL",
              )
            : storeFailure(display, op, key, err, hint);
    return {
        display,
        async list(dir) {
            try {
                const [files] = await bucket.getFiles({ prefix: prefix + dir, delimiter: "/", autoPaginate: true });
                return files.map((f) => ({
                    key: f.name.slice(prefix.length),
                    tag: `${f.metadata.generation ?? ""}:${f.metadata.size ?? ""}`,
                }));
            } catch (err) {
                throw fail("listing", dir, err);
            }
        },
        async read(key) {
            try {
                const [bytes] = await bucket.file(prefix + key).download();
                return bytes;
            } catch (err: any) {
                if (err?.code === 404) return undefined;
                throw fail("reading", key, err);
            }
        },
        async createIfAbsent(key, body) {
            try {
                await bucket
                    .file(prefix + key)
                    .save(body, { resumable: false, contentType: "application/json", preconditionOpts: { ifGenerationMatch: 0 } });
                return true;
            } catch (err: any) {
                if (err?.code === 412) return false;
                throw fail("creating", key, err);
            }
        },
        async remove(key) {
            try {
                await bucket.file(prefix + key).delete({ ignoreNotFound: true });
            } catch (err) {
                throw fail("deleting", key, err);
            }
        },
    };
}
