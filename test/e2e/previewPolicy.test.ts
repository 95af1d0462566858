/**
 * End to end through the real engine with Keel's policy pack loaded (as
 * `npm run preview -- pr-5` loads it): a pull request's preview stack pr-5,
 * written by hand here from staging's file as `keel pr up` would, is held to
 * none of prod's rules (one machine, nothing protected, no backup) but cannot
 * reach prod's resources: based on prod's Neon branch with prod's Fly app it is
 * refused by preview-isolated-from-prod, which reads the workspace's own
 * Pulumi.prod.yaml (KEEL_PROJECT_ROOT, set by the engine commands, reaches the
 * analyzer the engine starts). Preview only:
 * nothing is created at the fakes.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { policyPackPath } from "../../scripts/lib/engine";
import { forTheEngine, secretValue, seedProd, stagingConfig } from "../support/cloudStack";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { FakeFly } from "../support/fakeFly";
import { FakeNeon } from "../support/fakeNeon";

interface Run {
    output: string;
    events: EngineEvent[];
    error?: Error;
}

const policyEvents = (run: Run): any[] => run.events.map((e) => (e as any).policyEvent).filter(Boolean);

describe("end to end: a pull request's preview stack through the engine, gated by the policy pack", function () {
    this.timeout(10 * 60_000);
    const neonKey = secretValue("napi_e2e_");
    const flyToken = secretValue("fo1_e2e_");
    let ws: EngineWorkspace;
    let neon: FakeNeon;
    let fly: FakeFly;

    before(async function () {
        const cli = requireEngine(this);
        neon = await FakeNeon.start({ apiKey: neonKey });
        seedProd(neon);
        fly = await FakeFly.start({ token: flyToken });
        ws = EngineWorkspace.create(cli);
    });

    after(async () => {
        await neon?.stop();
        await fly?.stop();
    });

    /** `pulumi preview` of pr-5 with the pack, its file staging's with `edit` applied; a failure is returned. */
    const preview = async (edit: (config: Record<string, any>) => void): Promise<Run> => {
        ws.editStackFile("pr-5", (c) => {
            for (const k of Object.keys(c)) delete c[k];
            Object.assign(c, stagingConfig());
            forTheEngine(c, { databaseName: "app", healthUrl: "http://127.0.0.1:9/healthz" });
            c["keel:backend"].fly.count = 1;
            c["keel:migrations"].backup = false;
            // What `keel pr up` writes on every preview (required on a preview stack since keel:preview exists).
            c["keel:preview"] = {
                pr: 5,
                base: "staging",
                branch: "feature/x",
                expiresAt: "2030-01-01T00:00:00Z",
                createdAt: "2029-12-25T00:00:00Z",
            };
            edit(c);
        });
        // Quoted, as `keel pr up` writes them: the engine's YAML would read a bare ISO time as a timestamp.
        const file = path.join(ws.root, "Pulumi.pr-5.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/(expiresAt|createdAt): ([0-9TZ:-]+)$/gm, '$1: "$2"'));
        const stack = await ws.stack("pr-5");
        await stack.setConfig("keel:neonApiKey", { value: neonKey, secret: true });
        await stack.setConfig("keel:neonApiUrl", { value: neon.url });
        await stack.setConfig("keel:flyApiToken", { value: flyToken, secret: true });
        await stack.setConfig("keel:flyApiUrl", { value: fly.url });
        const r: Run = { output: "", events: [] };
        try {
            await stack.preview({
                onOutput: (s: string) => void (r.output += s),
                onEvent: (e: EngineEvent) => void r.events.push(e),
                policyPacks: [policyPackPath(ws.root)],
            });
        } catch (err) {
            r.error = err as Error;
            r.output += `\n${(err as Error).message}`;
        }
        return r;
    };

    it("based on staging's branch with an app of its own, it passes: prod's rules do not hold a preview", async () => {
        const r = await preview((c) => {
            c["keel:database"].neon.branch = { name: "preview/pr-5", parent: "staging", schemaOnly: true };
            c["keel:backend"].fly.app = "keel-app-staging-pr-5";
        });
        assert.equal(r.error, undefined, r.output);
        const mandatory = policyEvents(r).filter((v) => v.enforcementLevel === "mandatory");
        assert.deepEqual(mandatory, [], r.output);
        assert.equal(fly.mutations().length, 0);
        assert.equal(neon.mutations().length, 0);
    });

    it("on prod's branch with prod's Fly app (as the workspace's Pulumi.prod.yaml names it), it is refused by preview-isolated-from-prod, naming the fix", async () => {
        // The workspace's own prod file, not the repository's: the pack reads the project the engine runs.
        ws.editStackFile("prod", (c) => (c["keel:backend"].fly.app = "keel-app-prod-e2e"));
        const r = await preview((c) => {
            c["keel:database"].neon.branch = { name: "preview/pr-5", parent: "main", schemaOnly: true };
            c["keel:backend"].fly.app = "keel-app-prod-e2e";
        });
        assert.ok(r.error, r.output);
        const v = policyEvents(r).filter((x) => x.policyName === "preview-isolated-from-prod");
        assert.ok(v.length >= 2, r.output);
        for (const x of v) {
            assert.equal(x.policyPackName, "keel");
            assert.equal(x.enforcementLevel, "mandatory");
        }
        const messages = v.map((x) => x.message).join("\n");
        assert.match(messages, /is made from prod's Neon branch 'main' of project 'keel-app' \(the prod stack's\)/);
        assert.match(messages, /acts on the Fly app 'keel-app-prod-e2e', the prod stack's \(prod\)/);
        assert.match(r.output, /keel pr up --pr 5 --from staging/);
        // Only this rule refuses it.
        assert.deepEqual(
            [
                ...new Set(
                    policyEvents(r)
                        .filter((x) => x.enforcementLevel === "mandatory")
                        .map((x) => x.policyName),
                ),
            ],
            ["preview-isolated-from-prod"],
        );
        assert.equal(fly.mutations().length, 0);
        assert.equal(neon.mutations().length, 0);
    });
});
