/** Whether a pull request may have a preview now (components/previews/admission.ts), and which migrations it rewrote. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { admissionRefusal, rewrittenMigrations } from "../../components/previews/admission";
import { previewList, previewRows, previewTable } from "./listFixtures";

describe("preview admission", () => {
    it("an existing preview is always updated; a new one only below max; a fork never", () => {
        fc.assert(
            fc.property(
                fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { maxLength: 8 }),
                fc.integer({ min: 1, max: 50 }),
                fc.integer({ min: 1, max: 8 }),
                (open, pr, max) => {
                    const refusal = admissionRefusal({ pr, max, open });
                    if (open.includes(pr)) assert.equal(refusal, undefined);
                    else if (open.length >= max) {
                        assert.match(refusal!, new RegExp(`${open.length} previews are open, keel:previews\\.max is ${max}`));
                        for (const n of open) assert.ok(refusal!.includes(`#${n} (pr-${n})`), `#${n} not named`);
                    } else assert.equal(refusal, undefined);
                    const fork = admissionRefusal({ pr, max, open, headRepository: "someone/app", repository: "keel-dev/app" });
                    assert.match(fork!, /pull requests from forks never get a preview/);
                    assert.equal(
                        admissionRefusal({ pr, max: 100, open: [], headRepository: "Keel-Dev/App", repository: "keel-dev/app" }),
                        undefined,
                    );
                },
            ),
        );
    });

    it("counts every branch of the Neon project against its plan, except the preview's own", () => {
        const branches = ["main", "staging", "staging-snapshot-1", "staging-snapshot-2", "preview/pr-3"];
        assert.match(
            admissionRefusal({ pr: 4, max: 10, open: [3], neon: { branches, limit: 5 } })!,
            /the Neon project has 5 branches and its plan allows 5/,
        );
        assert.equal(admissionRefusal({ pr: 4, max: 10, open: [3], neon: { branches, limit: 6 } }), undefined);
        // Its own branch exists (a run that failed after making it): it takes no new room.
        assert.equal(admissionRefusal({ pr: 3, max: 10, open: [], neon: { branches, limit: 5 } }), undefined);
    });

    it("rewritten migrations: an applied version whose file's checksum changed, nothing else", () => {
        fc.assert(
            fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }), fc.func(fc.boolean()), (versions, rewrite) => {
                const applied = versions.map((v) => ({ version: String(v), checksum: `c${v}` }));
                const files = versions.map((v) => ({
                    version: String(v),
                    checksum: rewrite(v) ? `x${v}` : `c${v}`,
                    path: `migrations/${v}.sql`,
                }));
                files.push({ version: "999", checksum: "new", path: "migrations/999.sql" });
                assert.deepEqual(
                    rewrittenMigrations(applied, files),
                    versions.filter((v) => rewrite(v)).map((v) => `migrations/${v}.sql`),
                );
            }),
        );
    });
});

describe("pr list's rows", () => {
    it("age, expiry and costs from each preview's outputs; a preview without outputs is said to be incomplete", () => {
        const rows = previewRows(previewList, new Date("2026-12-10T00:00:00Z"));
        assert.deepEqual(
            rows.map((r) => [r.pr, r.ageDays, r.expired, r.costs, r.incomplete]),
            [
                [3, 3, false, ["1 Fly machine (autostop)", "Neon branch br-3"], false],
                [9, 9, true, ["external database"], false],
                [11, undefined, false, [], true],
            ],
        );
        const table = previewTable(rows);
        assert.match(table[0], /^PR +BRANCH +AGE +EXPIRES \(UTC\) +BACKEND +COSTS$/);
        assert.match(table[2], /^#9 +fix\/y +9\.0d +2026-12-08 00:00 \(expired\)/);
        assert.match(table[3], /its last pr up did not finish/);
        assert.deepEqual(previewTable([]), ["No previews (keel pr up --pr <n> makes one)."]);
    });
});
