/** The reaper's plan: only previews, exactly those of closed or expired pull requests and the orphans, whatever the inventory. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { describeReapPlan, planReap, PreviewVendor, StackInfo, VendorObject } from "../../components/previews/reap";

const NOW = new Date("2026-12-07T12:00:00Z");
const DAY = 86_400_000;
const VENDORS: PreviewVendor[] = ["neon-branch", "fly-app", "render-service", "vercel-variable", "github-environment"];

/** Few pull requests, so stacks, objects and the open set overlap often. */
const prNumber = fc.integer({ min: 1, max: 8 });
const expiresAt = fc.option(
    fc.oneof(
        fc.integer({ min: -10 * DAY, max: 10 * DAY }).map((d) => new Date(NOW.getTime() + d).toISOString()),
        fc.constant(NOW.toISOString()),
        fc.constant("not a time"),
    ),
    { nil: undefined },
);
/** Preview stacks, and names that only look like one. */
const stackName = fc.oneof(
    prNumber.map((n) => `pr-${n}`),
    fc.constantFrom("dev", "staging", "prod", "pr-0", "pr-01", "pr-", "feature-pr-3", "pr-3-old", "PR-2"),
);
const stacks = fc.uniqueArray(fc.record({ name: stackName, expiresAt }, { requiredKeys: ["name"] }), {
    selector: (s) => s.name,
    maxLength: 10,
});
const object = fc.record(
    {
        vendor: fc.constantFrom(...VENDORS),
        id: fc.string({ minLength: 1, maxLength: 6 }),
        name: fc.constantFrom("keel-app-staging-pr-3", "preview/pr-2", "main", "NEXT_PUBLIC_API_URL", "staging", "preview-pr-5"),
        pr: fc.option(prNumber, { nil: undefined }),
        owned: fc.option(fc.boolean(), { nil: undefined }),
        expiresAt,
    },
    { requiredKeys: ["vendor", "id", "name", "pr"] },
);
const objects = fc.uniqueArray(object, { selector: (o) => `${o.vendor}/${o.id}`, maxLength: 14 });
const openPrs = fc.uniqueArray(prNumber, { maxLength: 8 });

/** The rules said another way: a PR's preview is dead when the PR is closed or its stack's time has passed. */
function expectation(now: Date, open: number[], all: StackInfo[], objs: VendorObject[]) {
    const previewStacks = all.filter((s) => /^pr-[1-9][0-9]*$/.test(s.name));
    const stackOf = (pr: number) => previewStacks.find((s) => s.name === `pr-${pr}`);
    const expired = (s: StackInfo | undefined) =>
        !!s?.expiresAt && !isNaN(Date.parse(s.expiresAt)) && Date.parse(s.expiresAt) <= now.getTime();
    const dead = (pr: number) => !open.includes(pr) || expired(stackOf(pr));
    const deadStacks = previewStacks.filter((s) => dead(Number(s.name.slice(3))));
    const goingObjects = objs.filter((o) => o.pr !== undefined && (dead(o.pr) || !stackOf(o.pr)));
    return { deadStacks, goingObjects };
}

describe("planReap", () => {
    it("removes exactly the previews of closed or expired PRs and the orphans, and nothing unmarked or not a preview", () => {
        fc.assert(
            fc.property(stacks, objects, openPrs, (all, objs, open) => {
                const plan = planReap({ now: NOW, openPrs: new Set(open), stacks: all, objects: objs });
                const { deadStacks, goingObjects } = expectation(NOW, open, all, objs);

                assert.deepEqual(plan.stacks.map((s) => s.name).sort(), deadStacks.map((s) => s.name).sort());
                for (const s of plan.stacks) {
                    assert.equal(s.name, `pr-${s.pr}`);
                    assert.equal(s.reason, open.includes(s.pr) ? "expired" : "closed");
                }
                // Every dead object goes: by itself, or with the stack whose state holds it; never twice.
                const alone = plan.objects.map((r) => r.object);
                const withStacks = plan.stacks.flatMap((s) => s.objects);
                assert.equal(new Set([...alone, ...withStacks]).size, alone.length + withStacks.length, "an object is removed once");
                assert.deepEqual(new Set([...alone, ...withStacks]), new Set(goingObjects));
                for (const o of withStacks) assert.equal(o.owned, true, "pr down takes only what its state holds");
                for (const r of plan.objects) {
                    const hasStack = all.some((s) => s.name === `pr-${r.object.pr}`);
                    if (r.reason === "orphaned") assert.ok(!hasStack && open.includes(r.object.pr!));
                    if (r.reason === "closed") assert.ok(!open.includes(r.object.pr!));
                    if (r.reason === "expired") assert.ok(hasStack && open.includes(r.object.pr!));
                }
                // Kept: the live previews, with their objects; nothing appears twice.
                const keptObjects = plan.kept.flatMap((k) => k.objects);
                for (const o of objs) {
                    const places = [alone, withStacks, keptObjects].filter((l) => l.includes(o)).length;
                    assert.equal(places, o.pr === undefined ? 0 : 1, `${o.vendor}/${o.id} (PR ${o.pr}) is in ${places} places`);
                }
                for (const k of plan.kept) assert.ok(open.includes(k.pr) && all.some((s) => s.name === k.name));
            }),
            { numRuns: 500 },
        );
    });

    it("never lists a stack that is not a preview, whatever is open", () => {
        fc.assert(
            fc.property(stacks, openPrs, (all, open) => {
                const plan = planReap({ now: NOW, openPrs: open, stacks: all, objects: [] });
                for (const s of [...plan.stacks, ...plan.kept]) assert.match(s.name, /^pr-[1-9][0-9]*$/);
            }),
        );
    });
});

describe("planReap, examples", () => {
    const obj = (vendor: PreviewVendor, name: string, pr: number | undefined, owned?: boolean): VendorObject => ({
        vendor,
        id: `${vendor}:${name}`,
        name,
        pr,
        ...(owned !== undefined ? { owned } : {}),
    });
    const tomorrow = new Date(NOW.getTime() + DAY).toISOString();
    const yesterday = new Date(NOW.getTime() - DAY).toISOString();

    it("removes a closed PR's stack, leaving what its state holds to pr down, and the rest one by one", () => {
        const held = obj("fly-app", "keel-app-staging-pr-4", 4, true);
        const stray = obj("github-environment", "preview-pr-4", 4, false);
        const plan = planReap({ now: NOW, openPrs: [], stacks: [{ name: "pr-4", expiresAt: tomorrow }], objects: [held, stray] });
        assert.deepEqual(plan.stacks, [{ name: "pr-4", pr: 4, reason: "closed", objects: [held] }]);
        assert.deepEqual(plan.objects, [{ object: stray, reason: "closed" }]);
        assert.deepEqual(plan.kept, []);
        assert.deepEqual(describeReapPlan(plan), [
            "stack pr-4 (PR #4, closed) with fly-app keel-app-staging-pr-4 (fly-app:keel-app-staging-pr-4)",
            "github-environment preview-pr-4 (github-environment:preview-pr-4) (PR #4, closed)",
        ]);
    });

    it("removes an open PR's expired preview", () => {
        const plan = planReap({ now: NOW, openPrs: [7], stacks: [{ name: "pr-7", expiresAt: yesterday }], objects: [] });
        assert.deepEqual(plan.stacks, [{ name: "pr-7", pr: 7, reason: "expired", objects: [] }]);
    });

    it("keeps an open PR's live preview and its objects, even one its state does not hold yet", () => {
        const notYetHeld = obj("neon-branch", "preview/pr-2", 2, false);
        const plan = planReap({ now: NOW, openPrs: new Set([2]), stacks: [{ name: "pr-2", expiresAt: tomorrow }], objects: [notYetHeld] });
        assert.deepEqual(plan.stacks, []);
        assert.deepEqual(plan.objects, []);
        assert.deepEqual(plan.kept, [{ name: "pr-2", pr: 2, expiresAt: tomorrow, objects: [notYetHeld] }]);
    });

    it("removes a marked object no stack owns as orphaned, and a closed PR's as closed", () => {
        const orphan = obj("vercel-variable", "NEXT_PUBLIC_API_URL", 3);
        const gone = obj("render-service", "keel-app-staging-pr-9", 9);
        const plan = planReap({ now: NOW, openPrs: [3], stacks: [{ name: "staging" }], objects: [orphan, gone] });
        assert.deepEqual(plan.objects, [
            { object: orphan, reason: "orphaned" },
            { object: gone, reason: "closed" },
        ]);
    });

    it("never touches unmarked objects nor other stacks, even with no PR open", () => {
        const plan = planReap({
            now: NOW,
            openPrs: [],
            stacks: [{ name: "staging" }, { name: "prod" }, { name: "pr-0" }, { name: "feature-pr-3", expiresAt: yesterday }],
            objects: [obj("fly-app", "keel-app-staging", undefined), obj("neon-branch", "main", undefined, true)],
        });
        assert.deepEqual(plan, { stacks: [], objects: [], kept: [] });
    });

    it("keeps a preview whose expiry cannot be read", () => {
        const plan = planReap({ now: NOW, openPrs: [5], stacks: [{ name: "pr-5", expiresAt: "soon" }], objects: [] });
        assert.deepEqual(plan.stacks, []);
        assert.equal(plan.kept.length, 1);
    });
});
