/**
 * Keel's reader of a self-managed backend (scripts/lib/stateStore, stackHistory,
 * rollbackLock) against each real object store (tools/objectStores.ts): S3
 * (versitygw), Google Cloud Storage (fake-gcs-server) and Azure Blob (Azurite).
 * The store's operations under a key prefix, the rollback lock raced, and the
 * deploys the pinned Pulumi CLI wrote there (three updates from three git
 * commits, outputs and a secret) read back as rollback lists them.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { acquireRollbackLock, RollbackLockedError } from "../../scripts/lib/rollbackLock";
import { listDeploys, SECRET, stackLocks } from "../../scripts/lib/stackHistory";
import { openStateStore, parseStateBackend, StoreLocation } from "../../scripts/lib/stateStore";
import { requireEngine } from "../support/engine";
import { ObjectStoreServer, requireObjectStore, StoreKind } from "../support/objectStores";
import { tempDir } from "../support/tempDir";

const KINDS: { kind: StoreKind; title: string }[] = [
    { kind: "s3", title: "S3 (versitygw)" },
    { kind: "gs", title: "Google Cloud Storage (fake-gcs-server)" },
    { kind: "azblob", title: "Azure Blob (Azurite)" },
];

/** The backend URL with a key prefix inside the bucket, as Pulumi accepts it (s3://bucket/team/state?…). */
function withPrefix(url: string, prefix: string): string {
    const q = url.indexOf("?");
    return q < 0 ? `${url}/${prefix}` : `${url.slice(0, q)}/${prefix}${url.slice(q)}`;
}

for (const { kind, title } of KINDS) {
    describe(`the state in ${title}: Keel's reader, the rollback lock, and the CLI's history`, function () {
        this.timeout(5 * 60_000);
        let server: ObjectStoreServer;
        let env: Record<string, string | undefined>;
        let root: string;

        before(async function () {
            server = await requireObjectStore(this, kind);
            await server.createBucket("keel-state");
            root = tempDir("keel-objstate-");
            fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: objstate\nruntime: nodejs\n");
            // Only what a runner would have: the store's variables and the passphrase, not this process's environment.
            env = {
                PATH: process.env.PATH,
                HOME: process.env.HOME,
                ...server.env,
                PULUMI_BACKEND_URL: withPrefix(server.backendUrl("keel-state"), "team/state"),
                PULUMI_CONFIG_PASSPHRASE: "objstate-passphrase",
            };
        });

        after(async () => {
            await server?.stop();
        });

        const store = () => openStateStore(parseStateBackend(env.PULUMI_BACKEND_URL!) as StoreLocation, env);

        it("lists, reads, creates only if absent, and removes, under the URL's prefix", async () => {
            const s = store();
            assert.deepEqual(await s.list("a/"), []);
            assert.equal(await s.read("a/x.json"), undefined);
            assert.equal(await s.createIfAbsent("a/x.json", '{"n":1}'), true);
            assert.equal(await s.createIfAbsent("a/x.json", '{"n":2}'), false);
            assert.equal((await s.read("a/x.json"))!.toString(), '{"n":1}');
            assert.equal(await s.createIfAbsent("a/deeper/y.json", "{}"), true);
            const listed = await s.list("a/");
            assert.deepEqual(
                listed.map((o) => o.key),
                ["a/x.json"],
                "only the objects directly under the directory",
            );
            assert.ok(listed[0].tag.length > 1, "a tag for the cache");
            // The prefix is where the objects are: a reader without it does not see them.
            const bare = openStateStore(parseStateBackend(server.backendUrl("keel-state")) as StoreLocation, env);
            assert.deepEqual(await bare.list("a/"), []);
            assert.equal((await bare.list("team/state/a/")).length, 1);
            await s.remove("a/x.json");
            await s.remove("a/x.json");
            await s.remove("a/deeper/y.json");
            assert.equal(await s.read("a/x.json"), undefined);
        });

        it("a bucket that does not exist, and wrong credentials, are errors that name the backend and what to check", async () => {
            const missing = openStateStore(parseStateBackend(server.backendUrl("no-such-bucket")) as StoreLocation, env);
            await assert.rejects(
                missing.list(".pulumi/history/"),
                (e: Error) => /no-such-bucket/.test(e.message) && /state backend/.test(e.message),
            );
            if (kind === "s3") {
                const wrong = openStateStore(parseStateBackend(server.backendUrl("keel-state")) as StoreLocation, {
                    ...env,
                    AWS_SECRET_ACCESS_KEY: "not-the-key",
                });
                await assert.rejects(
                    wrong.list(".pulumi/"),
                    (e: Error) => /AWS credentials/.test(e.message) && !e.message.includes("not-the-key"),
                );
            }
        });

        it("of several rollbacks started together exactly one takes the lock; it is released for the next", async () => {
            const results = await Promise.allSettled([1, 2, 3, 4].map(() => acquireRollbackLock(root, "prod", env)));
            const won = results.filter((r): r is PromiseFulfilledResult<{ release(): Promise<void> }> => r.status === "fulfilled");
            assert.equal(won.length, 1, results.map((r) => r.status).join(", "));
            for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof RollbackLockedError, String(r.reason));
            await won[0].value.release();
            await (await acquireRollbackLock(root, "prod", env)).release();
            assert.deepEqual(await store().list(".keel/locks/objstate/"), []);
        });

        it("reads the deploys the Pulumi CLI wrote there: versions, commits, outputs, secrets hidden; again from the cache", async function () {
            const cli = requireEngine(this);
            const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
            git("init", "-q", "-b", "main");
            git("config", "user.email", "dev@example.com");
            git("config", "user.name", "Dev");
            const { LocalWorkspace, PulumiCommand } = await import("@pulumi/pulumi/automation");
            const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli.bin)), skipVersionCheck: true });
            let version = 0;
            const stack = await LocalWorkspace.createOrSelectStack(
                {
                    stackName: "dev",
                    projectName: "objstate",
                    program: async () => ({
                        schemaVersion: String(version),
                        backendImage: `registry.example/app:1.${version}.0`,
                        databaseUrl: pulumi.secret(`postgres://app:pw-${version}@db/app`),
                    }),
                },
                { workDir: root, envVars: env as Record<string, string>, pulumiCommand },
            );
            const commits: string[] = [];
            for (version = 1; version <= 3; version++) {
                fs.writeFileSync(path.join(root, "version.txt"), String(version));
                git("add", "-A");
                git("commit", "-q", "-m", `v${version}`);
                commits.push(git("rev-parse", "HEAD"));
                assert.equal((await stack.up()).summary.result, "succeeded");
            }
            const cacheDir = tempDir("keel-objstate-cache-");
            const deploys = await listDeploys(root, "dev", env, { cacheDir });
            assert.deepEqual(
                deploys.map((d) => [
                    d.version,
                    d.kind,
                    d.result,
                    d.commit,
                    d.outputs.schemaVersion,
                    d.outputs.backendImage,
                    d.outputs.databaseUrl,
                ]),
                [1, 2, 3].map((v) => [v, "update", "succeeded", commits[v - 1], String(v), `registry.example/app:1.${v}.0`, SECRET]),
            );
            assert.ok(fs.readdirSync(cacheDir).length === 1, "the deploys are cached");
            assert.deepEqual(await listDeploys(root, "dev", env, { cacheDir }), deploys, "the same from the cache");
            assert.deepEqual(await stackLocks(root, "dev", env), [], "no update holds the stack");
            // No secret in plain text in the cache.
            const cached = fs.readFileSync(path.join(cacheDir, fs.readdirSync(cacheDir)[0]), "utf8");
            assert.ok(!cached.includes("pw-"), "no secret in the cache");
        });
    });
}
