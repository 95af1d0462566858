/**
 * The state backend reader's pure parts (the backend URL as Pulumi reads it,
 * Azure's service URL, bounded parallel reads, the deploy cache) and the
 * rollback lock on a file backend. The same store operations against real
 * object-store servers: test/e2e/objectStoreState.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { DeployCache, SECRET } from "../../scripts/lib/deployCache";
import { acquireRollbackLock, breakRollbackLock, RollbackLockedError } from "../../scripts/lib/rollbackLock";
import { mapLimit } from "../../scripts/lib/stackHistory";
import { parseStateBackend, redactBackendUrl, s3Endpoint } from "../../scripts/lib/stateStore/backendUrl";
import { azureServiceUrl } from "../../scripts/lib/stateStore/azblobStore";
import { storeFailure } from "../../scripts/lib/stateStore/store";
import { tempDir } from "../support/tempDir";

const bucketName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{2,20}[a-z0-9]$/);
const prefixPart = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);

describe("state backend URL (as Pulumi's self-managed backend reads it)", () => {
    it("the host is the bucket, a path is a key prefix ending in /, and the query parameters are kept by name", () => {
        fc.assert(
            fc.property(
                fc.constantFrom("s3", "gs", "azblob"),
                bucketName,
                fc.array(prefixPart, { maxLength: 3 }),
                (scheme, bucket, parts) => {
                    const url = `${scheme}://${bucket}${parts.length ? `/${parts.join("/")}` : ""}`;
                    const b = parseStateBackend(url);
                    assert.ok(b.kind !== "service");
                    assert.equal(b.kind, scheme);
                    assert.equal(b.bucket, bucket);
                    assert.equal(b.prefix, parts.length ? `${parts.join("/")}/` : "");
                },
            ),
        );
        const s3 = parseStateBackend("s3://state/keel?endpoint=http://127.0.0.1:7070&s3ForcePathStyle=true&region=us-east-1&kmskeyid=k");
        assert.ok(s3.kind === "s3");
        assert.deepEqual(s3.params, { endpoint: "http://127.0.0.1:7070", s3ForcePathStyle: "true", region: "us-east-1" });
        assert.equal(parseStateBackend("file:///tmp/state?no_tmp_dir=true").kind, "file");
        assert.equal(parseStateBackend("https://api.pulumi.com").kind, "service");
    });

    it("refuses, by name, a parameter Pulumi does not accept, a role it would assume, and a boolean that is not one", () => {
        assert.throws(
            () => parseStateBackend("s3://b?regoin=us-east-1"),
            /'regoin', which Pulumi's s3:\/\/ backend does not accept \(it accepts region, endpoint/,
        );
        assert.throws(() => parseStateBackend("s3://b?role=arn:aws:iam::1:role/x"), /does not assume roles .*role-to-assume/);
        assert.throws(() => parseStateBackend("s3://b?s3ForcePathStyle=yes"), /'s3ForcePathStyle=yes' is not a boolean/);
        assert.throws(() => parseStateBackend("azblob://c?domian=x"), /'domian'/);
        assert.throws(() => parseStateBackend("postgres://u:p@h/db"), /is not a state backend Keel can read.*postgres/);
        assert.throws(() => parseStateBackend("s3://"), /names no bucket|is not a URL/);
    });

    it("never shows credentials in a URL", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), fc.stringMatching(/^[A-Za-z0-9]{6,20}$/), (user, secret) => {
                const shown = redactBackendUrl(`postgres://${user}:${secret}@db.example.com/state`);
                assert.ok(!shown.includes(secret), shown);
            }),
        );
        assert.throws(
            () => parseStateBackend("postgres://keel:hunter2secret@db/state"),
            (e: Error) => !e.message.includes("hunter2secret"),
        );
    });

    it("a store that cannot be reached is said so, not blamed on credentials", () => {
        const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
        assert.match(
            storeFailure("s3://b", "listing", "k/", refused, "Check the AWS credentials").message,
            /could not be reached: check the network/,
        );
        assert.match(
            storeFailure("s3://b", "listing", "k/", new Error("Access Denied"), "Check the AWS credentials").message,
            /Access Denied\. Check the AWS credentials/,
        );
    });

    it("an S3 endpoint without a scheme is https, or http with disableSSL, as Pulumi rewrites it", () => {
        assert.equal(s3Endpoint({ endpoint: "minio:9000" }), "https://minio:9000");
        assert.equal(s3Endpoint({ endpoint: "minio:9000", disableSSL: "true" }), "http://minio:9000");
        assert.equal(s3Endpoint({ endpoint: "http://127.0.0.1:7070" }), "http://127.0.0.1:7070");
        assert.equal(s3Endpoint({}), undefined);
    });

    it("Azure's service URL is gocloud's: <protocol>://<account>.<domain>, flipped for the emulator and local domains", () => {
        assert.deepEqual(azureServiceUrl({}, { AZURE_STORAGE_ACCOUNT: "acct" }), {
            url: "https://acct.blob.core.windows.net",
            account: "acct",
        });
        assert.equal(
            azureServiceUrl({ domain: "blob.core.chinacloudapi.cn" }, { AZURE_STORAGE_ACCOUNT: "a" }).url,
            "https://a.blob.core.chinacloudapi.cn",
        );
        assert.equal(
            azureServiceUrl({ domain: "127.0.0.1:10000", protocol: "http" }, { AZURE_STORAGE_ACCOUNT: "devstoreaccount1" }).url,
            "http://127.0.0.1:10000/devstoreaccount1",
        );
        assert.equal(
            azureServiceUrl(
                { storage_account: "b" },
                { AZURE_STORAGE_ACCOUNT: "a", AZURE_STORAGE_DOMAIN: "azurite:10000", AZURE_STORAGE_IS_LOCAL_EMULATOR: "true" },
            ).url,
            "https://azurite:10000/b",
        );
        assert.throws(() => azureServiceUrl({ protocol: "ftp" }, {}), /neither http nor https/);
    });
});

describe("bounded parallel reads and the deploy cache", () => {
    it("mapLimit keeps the order and never has more than the limit in flight", async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(fc.nat(5), { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (delays, limit) => {
                let inFlight = 0;
                let most = 0;
                const out = await mapLimit(delays, limit, async (d, i) => {
                    inFlight++;
                    most = Math.max(most, inFlight);
                    for (let k = 0; k < d; k++) await Promise.resolve();
                    inFlight--;
                    return i * 2;
                });
                assert.deepEqual(
                    out,
                    delays.map((_, i) => i * 2),
                );
                assert.ok(most <= limit, `${most} in flight with a limit of ${limit}`);
                if (delays.length >= limit && delays.every((d) => d > 0)) assert.equal(most, limit, "the limit is used");
            }),
        );
    });

    it("keeps a deploy (secrets and dates included) across runs, and reads it again when the object's tag changes", () => {
        const dir = tempDir("keel-cache-");
        const history = { key: ".pulumi/history/p/s/s-1.history.json", tag: "e1:10" };
        const checkpoint = { key: ".pulumi/history/p/s/s-1.checkpoint.json", tag: "e2:99" };
        const record = {
            kind: "update",
            startTime: new Date("2026-12-01T10:00:00Z"),
            outputs: { databaseUrl: SECRET, schemaVersion: "3" },
        };
        const first = new DeployCache(dir, "s3://b p/s");
        assert.equal(first.get(history, checkpoint), undefined);
        first.set(history, checkpoint, record);
        first.save();
        const second = new DeployCache(dir, "s3://b p/s");
        assert.deepEqual(second.get(history, checkpoint), record);
        assert.equal(second.get(history, { ...checkpoint, tag: "e3:99" }), undefined, "a rewritten checkpoint is read again");
        assert.equal(new DeployCache(dir, "s3://other p/s").get(history, checkpoint), undefined, "another backend's cache is another file");
        fs.writeFileSync(path.join(dir, fs.readdirSync(dir)[0]), "{not json");
        assert.equal(new DeployCache(dir, "s3://b p/s").get(history, checkpoint), undefined, "a broken cache is only a miss");
    });
});

describe("the rollback lock (file backend)", () => {
    function project(): { root: string; env: Record<string, string> } {
        const root = tempDir("keel-lock-");
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
        return { root, env: { PULUMI_BACKEND_URL: `file://${path.join(root, "state")}` } };
    }

    it("of several started together exactly one gets it, the others are refused naming the holder; released, it can be taken again", async () => {
        const { root, env } = project();
        const results = await Promise.allSettled(Array.from({ length: 5 }, () => acquireRollbackLock(root, "prod", env)));
        const won = results.filter((r) => r.status === "fulfilled");
        assert.equal(won.length, 1);
        for (const r of results.filter((x) => x.status === "rejected")) {
            const reason = (r as PromiseRejectedResult).reason;
            assert.ok(reason instanceof RollbackLockedError);
            assert.match(
                reason.message,
                new RegExp(`another rollback of the prod stack is running \\(pid ${process.pid} of .*--stack prod --unlock`),
            );
        }
        await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
        const again = await acquireRollbackLock(root, "prod", env);
        await assert.rejects(acquireRollbackLock(root, "prod", env), RollbackLockedError);
        assert.ok(await acquireRollbackLock(root, "staging", env), "another stack's lock is its own");
        await again.release();
    });

    it("a lock left by a process gone from this machine is taken over; one held elsewhere is only removed by --unlock", async () => {
        const { root, env } = project();
        const file = path.join(root, "state", ".keel", "locks", "shop", "prod.rollback.json");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ id: "x", pid: 2 ** 22 + 7, username: "ci", hostname: os.hostname(), timestamp: "t" }));
        const lock = await acquireRollbackLock(root, "prod", env);
        await lock.release();
        assert.equal(fs.existsSync(file), false);
        fs.writeFileSync(
            file,
            JSON.stringify({
                id: "y",
                pid: 4242,
                username: "runner",
                hostname: "gh-runner-7",
                timestamp: "2026-12-07T00:00:00Z",
                run: "https://github.com/o/r/actions/runs/9",
            }),
        );
        await assert.rejects(
            acquireRollbackLock(root, "prod", env),
            /pid 4242 of runner@gh-runner-7 since 2026-12-07T00:00:00Z, https:\/\/github.com\/o\/r\/actions\/runs\/9/,
        );
        assert.equal((await breakRollbackLock(root, "prod", env))?.hostname, "gh-runner-7");
        assert.equal(await breakRollbackLock(root, "prod", env), undefined);
        await (await acquireRollbackLock(root, "prod", env)).release();
    });

    it("a holder releases only its own lock", async () => {
        const { root, env } = project();
        const first = await acquireRollbackLock(root, "prod", env);
        await breakRollbackLock(root, "prod", env);
        const second = await acquireRollbackLock(root, "prod", env);
        await first.release();
        await assert.rejects(acquireRollbackLock(root, "prod", env), RollbackLockedError, "the second holder keeps it");
        await second.release();
    });
});
