/**
 * An s3:// backend through the AWS SDK (@aws-sdk/client-s3): credentials from
 * the SDK's standard chain (environment, profile, SSO, web identity, instance
 * role), the query parameters as Pulumi's backend reads them (backendUrl.ts),
 * and the SDK's own retries for throttling and server errors.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { flag, s3Endpoint, StoreLocation } from "./backendUrl";
import { StateStore, storeFailure } from "./store";

export function s3Store(location: StoreLocation, env: Record<string, string | undefined>): StateStore {
    // The SDK warns about Node.js versions its future releases will need; Keel's lock file pins the SDK, so it is
    // noise in a command's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    // Loaded on first use: the SDK is large and only this backend needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
    const { params, bucket, prefix, display } = location;
    const region = params.region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
    const endpoint = s3Endpoint(params);
    const client: S3Client = new sdk.S3Client({
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        // This command's environment, not only the process's: keys given there win, else the SDK's own chain.
        ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && !params.profile && !flag(params, "anonymous")
            ? {
                  credentials: {
                      accessKeyId: env.AWS_ACCESS_KEY_ID,
                      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
                      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
                  },
              }
            : {}),
        ...(params.profile || env.AWS_PROFILE ? { profile: params.profile || env.AWS_PROFILE } : {}),
        forcePathStyle: flag(params, "use_path_style", "s3ForcePathStyle"),
        useDualstackEndpoint: flag(params, "dualstack"),
        useFipsEndpoint: flag(params, "fips"),
        useAccelerateEndpoint: flag(params, "accelerate"),
        ...(flag(params, "anonymous")
            ? { credentials: { accessKeyId: "", secretAccessKey: "" }, signer: { sign: async (r: any) => r } }
            : {}),
        maxAttempts: 5,
    });
    const hint =
        `Check the AWS credentials this process has (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the URL's profile, or the runner's role) ` +
        `allow s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on '${bucket}', and the region (the URL's region=, else AWS_REGION)` +
        (endpoint ? ` and that ${endpoint} answers` : "");
    const fail = (op: string, key: string, err: unknown) => {
        const e = err as { name?: string; message?: string };
        if (e?.name === "NoSuchBucket")
            return storeFailure(
                display,
                op,
                key,
                `bucket '${bucket}' does not exist`,
                "Create it, or fix the bucket in PULUMI_BACKEND_URL",
            );
        if (/Region is missing/i.test(e?.message ?? ""))
            return storeFailure(display, op, key, err, "Set AWS_REGION, or add region=<region> to PULUMI_BACKEND_URL");
        return storeFailure(display, op, key, err, hint);
    };
    return {
        display,
        async list(dir) {
            const found: { key: string; tag: string }[] = [];
            let token: string | undefined;
            try {
                do {
                    const page = await client.send(
                        new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix + dir, Delimiter: "/", ContinuationToken: token }),
                    );
                    for (const o of page.Contents ?? []) {
                        if (o.Key) found.push({ key: o.Key.slice(prefix.length), tag: `${o.ETag ?? ""}:${o.Size ?? ""}` });
                    }
                    token = page.IsTruncated ? page.NextContinuationToken : undefined;
                } while (token);
            } catch (err) {
                throw fail("listing", dir, err);
            }
            return found;
        },
        async read(key) {
            try {
                const res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: prefix + key }));
                return Buffer.from(await res.Body!.transformToByteArray());
            } catch (err: any) {
                if (err?.name === "NoSuchKey" || err?.$metadata?.httpStatusCode === 404) return undefined;
                throw fail("reading", key, err);
            }
        },
        async createIfAbsent(key, body) {
            try {
                await client.send(
                    new sdk.PutObjectCommand({
                        Bucket: bucket,
                        Key: prefix + key,
                        Body: body,
                        IfNoneMatch: "*",
                        ContentType: "application/json",
                    }),
                );
                return true;
            } catch (err: any) {
                const status = err?.$metadata?.httpStatusCode;
                if (status === 412 || status === 409 || err?.name === "PreconditionFailed") return false;
                throw fail("creating", key, err);
            }
        },
        async remove(key) {
            try {
                await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: prefix + key }));
            } catch (err) {
                throw fail("deleting", key, err);
            }
        },
    };
}
