/**
 * A preview's Neon branch expires by itself: NeonBranch sends `expiresAt` as
 * Neon's `expires_at` on create, moves it in place (PATCH) when a push gives a
 * new one, never replaces the branch for it, and refuses it on the project's
 * default branch. Against the fake Neon API (its clock, never the wall clock).
 */
import { strict as assert } from "assert";
import { neonBranchProvider, NeonBranchInputs, NeonBranchOutputs } from "../../components/database/neon/branch";
import { rfc3339Seconds } from "../../components/config/timestamp";
import { FakeNeon, setNeonEnv } from "../support/fakeNeon";
import { captureConsole, serializedProvider } from "../support/serializedProvider";
import type * as pulumi from "@pulumi/pulumi";

const DAY = 24 * 3600_000;
const quiet = <T>(fn: () => Promise<T>): Promise<T> => captureConsole(fn).then((r) => r.result);

describe("NeonBranch expiresAt (a preview's branch, against the fake Neon API)", () => {
    let fake: FakeNeon;
    let branch: pulumi.dynamic.ResourceProvider<NeonBranchInputs, NeonBranchOutputs>;
    let restoreEnv: () => void;
    let projectId: string;

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0 });
        restoreEnv = setNeonEnv({ NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url });
        branch = (await serializedProvider(neonBranchProvider)).provider;
    });
    after(async () => {
        restoreEnv();
        await fake.stop();
    });
    beforeEach(() => {
        fake.reset();
        projectId = fake.seedProject("keel-app", { branchName: "main" }).id;
    });

    const inputs = (expiresAt?: string): NeonBranchInputs => ({
        projectId,
        name: "preview/pr-7",
        parent: "main",
        protected: false,
        schemaOnly: true,
        stack: "pr-7",
        protect: false,
        allowDelete: false,
        ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
    const at = (days: number) => rfc3339Seconds(fake.clock.now() + days * DAY);
    const branchRequests = () => fake.requests.filter((r) => /\/branches/.test(r.path) && r.method !== "GET");

    it("creates the branch with expires_at, which Neon keeps and returns; when that time passes, Neon deletes it", async () => {
        const expiresAt = at(7);
        const created = await quiet(() => branch.create(inputs(expiresAt)));
        const post = branchRequests().find((r) => r.method === "POST")!;
        assert.equal((post.body as any).branch.expires_at, expiresAt);
        assert.equal(fake.branch(projectId, "preview/pr-7")!.expires_at, expiresAt);
        assert.equal(created.outs!.expiresAt, expiresAt);
        fake.clock.advance(7 * DAY);
        assert.deepEqual(fake.expireBranches(), ["preview/pr-7"]);
    });

    it("a new expiry is a change in place (never a replacement), and update PATCHes expires_at only", async () => {
        const first = await quiet(() => branch.create(inputs(at(7))));
        const olds = first.outs!;
        const later = at(9);
        const diff = await branch.diff!(first.id, olds, inputs(later));
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
        assert.equal((await branch.diff!(first.id, olds, inputs(olds.expiresAt))).changes, false);
        // The same instant written in another zone is no change.
        const sameInstant = new Date(Date.parse(olds.expiresAt!)).toISOString().replace(/\.\d{3}Z$/, "+00:00");
        assert.equal((await branch.diff!(first.id, olds, inputs(sameInstant))).changes, false);

        fake.requests.length = 0;
        const updated = await quiet(() => branch.update!(first.id, olds, inputs(later)));
        const patches = branchRequests().filter((r) => r.method === "PATCH");
        assert.deepEqual(
            patches.map((r) => r.body),
            [{ branch: { expires_at: later } }],
        );
        assert.equal(branchRequests().filter((r) => r.method !== "PATCH").length, 0, "nothing created or deleted");
        const stored = fake.branch(projectId, "preview/pr-7")!;
        assert.equal(stored.id, first.id, "the same branch");
        assert.equal(stored.expires_at, later);
        assert.equal(updated.outs!.expiresAt, later);
    });

    it("removing expiresAt clears Neon's expiry (null), and adopting an existing branch sets the configured one", async () => {
        const first = await quiet(() => branch.create(inputs(at(7))));
        await quiet(() => branch.update!(first.id, first.outs!, inputs()));
        assert.equal(fake.branch(projectId, "preview/pr-7")!.expires_at, undefined);
        // pr up again after the state was lost: create adopts the branch by name and moves its expiry.
        const again = await quiet(() => branch.create(inputs(at(3))));
        assert.equal(again.id, first.id);
        assert.equal(fake.branch(projectId, "preview/pr-7")!.expires_at, at(3));
    });

    it("read reports an expiry changed outside Keel as drift", async () => {
        const first = await quiet(() => branch.create(inputs(at(7))));
        fake.branch(projectId, "preview/pr-7")!.expires_at = at(1);
        const read = await quiet(() => branch.read!(first.id, first.outs!));
        assert.equal(read.props!.expiresAt, at(1));
        assert.match(read.props!.drift.join("\n"), /expiresAt/);
    });

    it("check refuses a malformed time and any expiry on the project's default branch, before anything is sent", async () => {
        fake.requests.length = 0;
        const failures = async (i: NeonBranchInputs) =>
            ((await branch.check!({} as NeonBranchInputs, i)).failures ?? []).map((f) => f.property);
        assert.deepEqual(await failures(inputs("2026-12-14 18:02")), ["expiresAt"]);
        assert.deepEqual(await failures(inputs("2026-12-14T18:02:16.500Z")), ["expiresAt"], "Neon takes whole seconds");
        assert.deepEqual(await failures({ ...inputs(at(7)), parent: undefined, name: "main", schemaOnly: false }), ["expiresAt"]);
        assert.deepEqual(await failures(inputs(at(7))), []);
        assert.deepEqual(fake.requests, []);
    });
});
