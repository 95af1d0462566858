/**
 * The history digest beside the state (scripts/lib/stackHistory.ts): a reader
 * of a long history (the metrics, history entries only) leaves the parsed
 * entries as one object in the backend, so a fresh machine (a CI runner, no
 * local cache) reads that instead of every entry; an entry whose object
 * changed is read again, and new entries are read one by one.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { SyntheticUpdate, syntheticProject, writeHistory } from "../../bench/metrics/history";
import { listDeploys } from "../../scripts/lib/stackHistory";
import { tempDir } from "../support/tempDir";

const COMMIT = (i: number) => i.toString(16).padStart(40, "0");

describe("the history digest beside the state", () => {
    it("a fresh machine reads the digest, not every entry; a changed or new entry is read from its object", async () => {
        const root = tempDir("keel-digest-");
        const env = syntheticProject(root, ["prod"]);
        const start = Date.parse("2026-11-01T00:00:00Z");
        const updates = (from: number, to: number): SyntheticUpdate[] =>
            Array.from({ length: to - from }, (_, k) => {
                const i = from + k;
                return {
                    start: new Date(start + i * 3_600_000),
                    end: new Date(start + i * 3_600_000 + 60_000),
                    result: "succeeded" as const,
                    commit: COMMIT(i),
                };
            });
        writeHistory(env, "prod", updates(0, 120));
        const state = env.PULUMI_BACKEND_URL.slice("file://".length);
        const dir = path.join(state, ".pulumi", "history", "keel", "prod");
        const entry = fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".history.json"))
            .sort()[5];
        const file = path.join(dir, entry);
        // A whole-second time the file system keeps exactly: the entry's tag (time and size) can be kept while its bytes change.
        fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
        const first = await listDeploys(root, "prod", env, { historyOnly: true, cacheDir: tempDir("keel-digest-cache-") });
        assert.equal(first.length, 120);
        const digests = fs.readdirSync(path.join(state, ".keel", "cache", "keel", "prod"));
        assert.equal(digests.length, 1);
        assert.match(digests[0], /^history-000000120-[0-9a-f]+\.json\.gz$/);

        // Same size and time, other bytes: only a reader that trusts the digest keeps the original commit.
        const text = fs.readFileSync(file, "utf8");
        fs.writeFileSync(file, text.replace(COMMIT(5), COMMIT(999)));
        fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
        const fresh = await listDeploys(root, "prod", env, { historyOnly: true, cacheDir: tempDir("keel-digest-cache-") });
        assert.equal(fresh[5].commit, COMMIT(5), "entry 6 came from the digest");

        // A changed object (its tag) is read again; new entries too, and the digest grows.
        fs.writeFileSync(file, text.replace(COMMIT(5), COMMIT(999)) + " ");
        writeHistory(env, "prod", updates(120, 200));
        const later = await listDeploys(root, "prod", env, { historyOnly: true, cacheDir: tempDir("keel-digest-cache-") });
        assert.equal(later.length, 200);
        assert.equal(later[5].commit, COMMIT(999), "a changed object is read again");
        assert.equal(later[150].commit, COMMIT(150));
        const now = fs.readdirSync(path.join(state, ".keel", "cache", "keel", "prod"));
        assert.deepEqual(
            now.map((n) => n.replace(/-[0-9a-f]+\.json\.gz$/, "")),
            ["history-000000200"],
            "the older digest is removed",
        );
    });
});
