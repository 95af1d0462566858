/** The reaper's inventory: Render services marked by the base's name, and the stacks of a self-managed state backend. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { gzipSync } from "zlib";
import { renderClient, RenderClient } from "../../components/vendors/render";
import { listBackendStacks, PreviewInventoryError, renderServiceInventory } from "../../scripts/lib/previewInventory";
import { FakeRender } from "../support/fakeRender";
import { tempDir } from "../support/tempDir";

describe("previewInventory: Render services", function () {
    let fake: FakeRender;
    let client: RenderClient;
    before(async () => {
        fake = await FakeRender.start();
        client = renderClient({ apiKey: fake.apiKey, baseUrl: fake.url });
    });
    after(() => fake.stop());

    it("marks `<base>-pr-<n>` only, and removing one twice is done once", async () => {
        fake.reset();
        const made = new Map<string, string>();
        for (const name of ["shop-staging", "shop-staging-pr-3", "shop-pr-3", "shop-staging-pr-03"]) {
            const { service } = await client.createService({
                type: "web_service",
                name,
                ownerId: fake.ownerId,
                image: { imagePath: "docker.io/library/nginx:1" },
                serviceDetails: { runtime: "image" },
            } as never);
            made.set(name, service.id);
        }
        const inventory = renderServiceInventory(client, fake.ownerId, "shop-staging");
        const listed = await inventory.list();
        assert.deepEqual(listed.map((o) => [o.name, o.pr]).sort(), [
            ["shop-pr-3", undefined],
            ["shop-staging", undefined],
            ["shop-staging-pr-03", undefined],
            ["shop-staging-pr-3", 3],
        ]);
        const marked = listed.find((o) => o.pr === 3)!;
        assert.equal(marked.id, made.get("shop-staging-pr-3"));
        await inventory.remove(marked);
        await inventory.remove(marked);
        assert.deepEqual(fake.services.map((s) => s.name).sort(), ["shop-pr-3", "shop-staging", "shop-staging-pr-03"]);
    });
});

describe("previewInventory: the stacks of the state backend", () => {
    function root(): string {
        const r = tempDir("keel-reap-stacks-");
        fs.writeFileSync(path.join(r, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
        return r;
    }
    const checkpoint = (ids: string[]) =>
        JSON.stringify({ version: 3, checkpoint: { latest: { resources: ids.map((id) => ({ id, outputs: {} })) } } });

    it("lists the legacy layout, gzip included, with what a preview's state holds and its last update's expiresAt", async () => {
        const r = root();
        const state = path.join(r, "state");
        const stacks = path.join(state, ".pulumi", "stacks");
        fs.mkdirSync(stacks, { recursive: true });
        fs.writeFileSync(path.join(stacks, "staging.json"), checkpoint(["x"]));
        fs.writeFileSync(path.join(stacks, "staging.json.bak"), checkpoint(["x"]));
        fs.writeFileSync(path.join(stacks, "pr-2.json.gz"), gzipSync(checkpoint(["br-1", "shop-staging-pr-2"])));
        const history = path.join(state, ".pulumi", "history", "pr-2");
        fs.mkdirSync(history, { recursive: true });
        const entry = (startTime: number, expiresAt: string) =>
            JSON.stringify({
                kind: "update",
                result: "succeeded",
                startTime,
                endTime: startTime + 1,
                config: { "keel:preview": { pr: 2, expiresAt } },
            });
        fs.writeFileSync(path.join(history, "pr-2-1000000000.history.json"), entry(1, "2026-12-01T00:00:00Z"));
        fs.writeFileSync(path.join(history, "pr-2-2000000000.history.json"), entry(2, "2026-12-09T00:00:00Z"));
        const listed = await listBackendStacks(r, { PULUMI_BACKEND_URL: `file://${state}` });
        assert.deepEqual(
            listed.map((s) => ({ ...s, holds: [...s.holds] })),
            [
                { name: "pr-2", holds: ["br-1", "shop-staging-pr-2"], expiresAt: "2026-12-09T00:00:00Z" },
                { name: "staging", holds: [] },
            ],
        );
    });

    it("lists the project-scoped layout, and a preview without history takes its stack file's expiresAt", async () => {
        const r = root();
        const state = path.join(r, "state");
        fs.mkdirSync(path.join(state, ".pulumi", "stacks", "keel"), { recursive: true });
        fs.mkdirSync(path.join(state, ".pulumi", "stacks", "other"), { recursive: true });
        fs.writeFileSync(path.join(state, ".pulumi", "meta.yaml"), "version: 1\n");
        fs.writeFileSync(path.join(state, ".pulumi", "stacks", "keel", "pr-5.json"), checkpoint([]));
        fs.writeFileSync(path.join(state, ".pulumi", "stacks", "other", "pr-6.json"), checkpoint([]));
        fs.writeFileSync(path.join(r, "Pulumi.pr-5.yaml"), 'config:\n  keel:preview:\n    pr: 5\n    expiresAt: "2026-12-10T00:00:00Z"\n');
        const listed = await listBackendStacks(r, { PULUMI_BACKEND_URL: `file://${state}` });
        assert.deepEqual(
            listed.map((s) => [s.name, s.expiresAt]),
            [["pr-5", "2026-12-10T00:00:00Z"]],
        );
    });

    it("does not read Pulumi Cloud as a store: its stacks are listed through the engine (e2e: previewsExternal)", async () => {
        await assert.rejects(
            listBackendStacks(root(), { PULUMI_BACKEND_URL: "https://api.pulumi.com" }),
            (err: Error) =>
                err instanceof PreviewInventoryError && /not a self-managed state backend.*stacksThroughEngine/.test(err.message),
        );
    });
});
