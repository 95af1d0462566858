/**
 * The object-store servers of tools/objectStores.ts, each for real: a bucket made,
 * an object put and read back through the vendor's SDK, a create-only put
 * (the primitive a lock object needs) refused when the key exists and won by
 * exactly one of several racing writers, a delete refused once the key changed
 * (releasing only one's own lock), and the Pulumi CLI keeping a stack's state
 * there (an update of an inline program, then `pulumi stack ls`).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import type { Readable } from "stream";
import { S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, DeleteObjectCommand } from "@aws-sdk/client-s3";
import { Storage } from "@google-cloud/storage";
import { BlobServiceClient } from "@azure/storage-blob";
import { requireEngine } from "./support/engine";
import { ObjectStoreServer, requireObjectStore, StoreKind } from "./support/objectStores";
import { tempDir } from "./support/tempDir";

/** The same few operations through each vendor's SDK. */
interface Bucket {
    put(key: string, body: string): Promise<void>;
    /** Creates the key only if it does not exist: "created", or "exists" when the store refused. */
    create(key: string, body: string): Promise<"created" | "exists">;
    get(key: string): Promise<string>;
    /** The key's current version (S3 and Azure: its ETag; GCS: its generation). */
    version(key: string): Promise<string>;
    /** Deletes the key only while it is at `version`: "deleted", or "changed" when the store refused. */
    deleteIf(key: string, version: string): Promise<"deleted" | "changed">;
}

function statusOf(err: any): number | undefined {
    return err?.$metadata?.httpStatusCode ?? err?.statusCode ?? err?.code ?? err?.response?.status;
}

function sdkBucket(server: ObjectStoreServer, name: string): Bucket {
    switch (server.kind) {
        case "s3": {
            const s3 = new S3Client({
                endpoint: server.endpoint,
                forcePathStyle: true,
                region: server.env.AWS_REGION,
                credentials: { accessKeyId: server.env.AWS_ACCESS_KEY_ID, secretAccessKey: server.env.AWS_SECRET_ACCESS_KEY },
            });
            return {
                put: async (key, body) => void (await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body }))),
                create: async (key, body) => {
                    try {
                        await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body, IfNoneMatch: "*" }));
                        return "created";
                    } catch (err) {
                        if (statusOf(err) === 412) return "exists";
                        throw err;
                    }
                },
                get: async (key) => {
                    const res = await s3.send(new GetObjectCommand({ Bucket: name, Key: key }));
                    return res.Body!.transformToString();
                },
                version: async (key) => (await s3.send(new HeadObjectCommand({ Bucket: name, Key: key }))).ETag!,
                deleteIf: async (key, version) => {
                    try {
                        await s3.send(new DeleteObjectCommand({ Bucket: name, Key: key, IfMatch: version }));
                        return "deleted";
                    } catch (err) {
                        if (statusOf(err) === 412) return "changed";
                        throw err;
                    }
                },
            };
        }
        case "gs": {
            // The Node SDK takes a bare STORAGE_EMULATOR_HOST for https: give it the endpoint.
            const bucket = new Storage({ apiEndpoint: server.endpoint, projectId: server.env.GOOGLE_CLOUD_PROJECT }).bucket(name);
            return {
                put: (key, body) => bucket.file(key).save(body, { resumable: false }),
                create: async (key, body) => {
                    try {
                        await bucket.file(key).save(body, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
                        return "created";
                    } catch (err) {
                        if (statusOf(err) === 412) return "exists";
                        throw err;
                    }
                },
                get: async (key) => (await bucket.file(key).download())[0].toString("utf8"),
                version: async (key) => String((await bucket.file(key).getMetadata())[0].generation),
                // fake-gcs-server 1.56 ignores ifGenerationMatch on a delete (it deletes whatever is there); deleting
                // the generation itself (`generation=`) is refused with 404 once a newer one replaced it, here as on GCS.
                deleteIf: async (key, version) => {
                    try {
                        await bucket.file(key, { generation: Number(version) }).delete();
                        return "deleted";
                    } catch (err) {
                        if (statusOf(err) === 404 || statusOf(err) === 412) return "changed";
                        throw err;
                    }
                },
            };
        }
        case "azblob": {
            const container = BlobServiceClient.fromConnectionString(server.env.AZURE_STORAGE_CONNECTION_STRING).getContainerClient(name);
            return {
                put: async (key, body) => void (await container.getBlockBlobClient(key).upload(body, Buffer.byteLength(body))),
                create: async (key, body) => {
                    try {
                        await container.getBlockBlobClient(key).upload(body, Buffer.byteLength(body), { conditions: { ifNoneMatch: "*" } });
                        return "created";
                    } catch (err) {
                        // Azure (and Azurite) answer a create-only put of an existing blob 409 BlobAlreadyExists, not 412.
                        if (statusOf(err) === 409 || statusOf(err) === 412) return "exists";
                        throw err;
                    }
                },
                get: async (key) => {
                    const res = await container.getBlockBlobClient(key).download();
                    const chunks: Buffer[] = [];
                    for await (const chunk of res.readableStreamBody as Readable) chunks.push(Buffer.from(chunk));
                    return Buffer.concat(chunks).toString("utf8");
                },
                version: async (key) => (await container.getBlockBlobClient(key).getProperties()).etag!,
                deleteIf: async (key, version) => {
                    try {
                        await container.getBlockBlobClient(key).delete({ conditions: { ifMatch: version } });
                        return "deleted";
                    } catch (err) {
                        if (statusOf(err) === 412) return "changed";
                        throw err;
                    }
                },
            };
        }
    }
}

const KINDS: { kind: StoreKind; title: string }[] = [
    { kind: "s3", title: "S3 (versitygw)" },
    { kind: "gs", title: "Google Cloud Storage (fake-gcs-server)" },
    { kind: "azblob", title: "Azure Blob (Azurite)" },
];

for (const { kind, title } of KINDS) {
    describe(`object store: ${title}`, function () {
        let server: ObjectStoreServer | undefined;
        let bucket: Bucket;

        before(async function () {
            server = await requireObjectStore(this, kind);
            await server.createBucket("keel-test");
            await server.createBucket("keel-test"); // idempotent
            bucket = sdkBucket(server, "keel-test");
        });

        after(async () => {
            await server?.stop();
        });

        it("puts and gets an object through the vendor SDK", async () => {
            await bucket.put("dir/hello.txt", "hello");
            assert.strictEqual(await bucket.get("dir/hello.txt"), "hello");
            await bucket.put("dir/hello.txt", "hello again");
            assert.strictEqual(await bucket.get("dir/hello.txt"), "hello again");
        });

        it("refuses a create-only put of an existing key", async () => {
            assert.strictEqual(await bucket.create("lock.json", "first"), "created");
            assert.strictEqual(await bucket.create("lock.json", "second"), "exists");
            assert.strictEqual(await bucket.get("lock.json"), "first");
        });

        it("lets exactly one of several racing create-only puts win", async () => {
            for (let round = 0; round < 3; round++) {
                const key = `race-${round}.json`;
                const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => bucket.create(key, `writer ${i}`)));
                assert.deepStrictEqual(
                    results.filter((r) => r === "created").length,
                    1,
                    `round ${round}: ${results.join(", ")} (one writer must win)`,
                );
                const winner = results.indexOf("created");
                assert.strictEqual(await bucket.get(key), `writer ${winner}`);
            }
        });

        it("deletes a key only at the version it was read at", async () => {
            await bucket.put("held.json", "mine");
            const mine = await bucket.version("held.json");
            await bucket.put("held.json", "someone else's");
            assert.strictEqual(await bucket.deleteIf("held.json", mine), "changed");
            assert.strictEqual(await bucket.get("held.json"), "someone else's");
            assert.strictEqual(await bucket.deleteIf("held.json", await bucket.version("held.json")), "deleted");
            assert.strictEqual(await bucket.create("held.json", "again"), "created");
        });

        it("keeps a stack's Pulumi state (an update, then pulumi stack ls)", async function () {
            const cli = requireEngine(this);
            const s = server!;
            await s.createBucket("keel-state");
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { LocalWorkspace, PulumiCommand } = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
            const workDir = tempDir("keel-objstore-project-");
            const env: Record<string, string> = {
                ...s.env,
                PULUMI_BACKEND_URL: s.backendUrl("keel-state"),
                PULUMI_CONFIG_PASSPHRASE: "objstore-test",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_HOME: tempDir("keel-objstore-pulumi-home-"),
            };
            const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli.bin)), skipVersionCheck: true });
            const stack = await LocalWorkspace.createOrSelectStack(
                { stackName: "objstore", projectName: "keel-objstore", program: async () => ({ answer: 42 }) },
                { workDir, envVars: env, pulumiCommand },
            );
            const up = await stack.up();
            assert.strictEqual(up.summary.result, "succeeded");
            assert.strictEqual(up.outputs.answer.value, 42);

            const ls = spawnSync(cli.bin, ["stack", "ls", "--json"], { cwd: workDir, env: { ...process.env, ...env }, encoding: "utf8" });
            assert.strictEqual(ls.status, 0, ls.stderr);
            const stacks = JSON.parse(ls.stdout) as { name: string; resourceCount?: number }[];
            assert.deepStrictEqual(
                stacks.map((st) => st.name),
                ["objstore"],
            );
            // The checkpoint is an object in the bucket, where the SDK reads it.
            const checkpoint = JSON.parse(await sdkBucket(s, "keel-state").get(".pulumi/stacks/keel-objstore/objstore.json"));
            assert.strictEqual(checkpoint.checkpoint.stack, "organization/keel-objstore/objstore");
        });
    });
}
