/**
 * Properties of migrationPlan over generated directories and histories: a
 * history of applied files (some as baseline), then up to five tamperings of
 * the directory (an applied file edited, deleted, renamed under its version,
 * renamed to a new version, or a new file older than the newest applied one)
 * under every combination of allowMissing and outOfOrder. The plan must never
 * run an applied version (or an applied file's bytes under a new name) again,
 * never leave a new file out without a problem naming it, report exactly one
 * problem per tampering it refuses, naming the file, and none otherwise.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { compareVersions } from "../../components/schema/migrationSet";
import { HistoryRow, migrationPlan, PlannedFile } from "../../components/schema/plan";

type OpKind = "edit" | "delete" | "renameName" | "renameVersion" | "outOfOrder";

interface Scenario {
    versions: bigint[];
    appliedCount: number;
    baselineCount: number;
    ops: { kind: OpKind; pick: number; newVersion: bigint }[];
    allowMissing: boolean;
    outOfOrder: boolean;
}

const version = fc.oneof(
    fc.bigInt({ min: 1n, max: 400n }),
    fc.bigInt({ min: 20240101000000n, max: 20991231235959n }),
    fc.constant(9223372036854775807n),
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
    versions: fc.uniqueArray(version, { maxLength: 12, comparator: (a, b) => a === b }),
    appliedCount: fc.nat(),
    baselineCount: fc.nat(),
    ops: fc.array(
        fc.record({
            kind: fc.constantFrom<OpKind>("edit", "delete", "renameName", "renameVersion", "outOfOrder"),
            pick: fc.nat(),
            newVersion: version,
        }),
        { maxLength: 5 },
    ),
    allowMissing: fc.boolean(),
    outOfOrder: fc.boolean(),
});

/** What a tampering must produce: a problem containing every one of `mentions`, or (expectProblem false) none. */
interface Expectation {
    what: string;
    mentions: string[];
}

function build(s: Scenario) {
    const base: PlannedFile[] = [...s.versions]
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map((v, i) => ({ version: v.toString(), name: `m${i}`, file: `${v}_m${i}.sql`, checksum: `c${i}` }));
    const k = s.appliedCount % (base.length + 1);
    const baselined = k === 0 ? 0 : s.baselineCount % (k + 1);
    const history: HistoryRow[] = base.slice(0, k).map((f, i) => ({
        version: f.version,
        name: f.name,
        checksum: f.checksum,
        status: i < baselined ? "baseline" : "applied",
    }));
    const dir = new Map(base.map((f) => [f.version, { ...f }]));
    const used = new Set(base.map((f) => f.version));
    const touched = new Set<number>();
    const expectations: Expectation[] = [];
    const renamedAway: string[] = []; // checksums of applied files now under a new version
    const newest = k ? base[k - 1].version : undefined;
    let counter = 0;
    for (const op of s.ops) {
        if (op.kind === "outOfOrder") {
            const v = op.newVersion.toString();
            if (!newest || used.has(v) || compareVersions(v, newest) >= 0) continue;
            const f = { version: v, name: `late${counter}`, file: `${v}_late${counter}.sql`, checksum: `late${counter++}` };
            used.add(v);
            dir.set(v, f);
            if (!s.outOfOrder) expectations.push({ what: `out-of-order ${f.file}`, mentions: [f.file, newest] });
            continue;
        }
        if (k === 0) continue;
        const i = op.pick % k;
        if (touched.has(i)) continue;
        touched.add(i);
        const f = base[i];
        switch (op.kind) {
            case "edit":
                dir.set(f.version, { ...f, checksum: `edited${i}` });
                expectations.push({ what: `edited ${f.file}`, mentions: [f.file, "edited", f.checksum, `edited${i}`] });
                break;
            case "delete":
                dir.delete(f.version);
                if (!s.allowMissing)
                    expectations.push({ what: `deleted ${f.file}`, mentions: [`version ${f.version} (${f.name})`, "missing"] });
                break;
            case "renameName": {
                const renamed = { ...f, name: `r${i}`, file: `${f.version}_r${i}.sql` };
                dir.set(f.version, renamed);
                expectations.push({ what: `renamed ${f.file} -> ${renamed.file}`, mentions: [renamed.file, f.file, "renamed"] });
                break;
            }
            case "renameVersion": {
                const v = op.newVersion.toString();
                if (used.has(v)) {
                    touched.delete(i);
                    continue;
                }
                used.add(v);
                const moved = { version: v, name: f.name, file: `${v}_${f.name}.sql`, checksum: f.checksum };
                dir.delete(f.version);
                dir.set(v, moved);
                renamedAway.push(f.checksum);
                expectations.push({
                    what: `moved ${f.file} -> ${moved.file}`,
                    mentions: [moved.file, `version ${f.version} (${f.name})`, "same bytes"],
                });
                break;
            }
        }
    }
    const files = [...dir.values()].sort((a, b) => compareVersions(a.version, b.version));
    return { files, history, expectations, renamedAway };
}

describe("migrationPlan properties", () => {
    it("never runs an applied version twice, never skips a pending one, and refuses every tampering, naming the file", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const { files, history, expectations, renamedAway } = build(s);
                const plan = migrationPlan(files, history, { allowMissing: s.allowMissing, outOfOrder: s.outOfOrder });
                const recorded = new Set(history.map((h) => h.version));

                // Never an applied version again, nor an applied file's bytes under a new version.
                for (const p of plan.pending) {
                    assert.ok(!recorded.has(p.version), `applied version ${p.version} is pending again`);
                    assert.ok(!renamedAway.includes(p.checksum), `${p.file} (an applied file renamed) is pending`);
                }
                // In order, each once.
                for (let i = 1; i < plan.pending.length; i++) {
                    assert.ok(
                        compareVersions(plan.pending[i - 1].version, plan.pending[i].version) < 0,
                        "pending is in strictly increasing order",
                    );
                }
                // Every file the history lacks is pending, or a problem names it.
                for (const f of files) {
                    if (recorded.has(f.version)) continue;
                    const pending = plan.pending.includes(f);
                    const named = plan.problems.some((p) => p.includes(f.file));
                    assert.ok(pending !== named, `${f.file}: pending ${pending}, named in a problem ${named}`);
                }
                // Exactly one problem per refused tampering, naming it; none when nothing was tampered with.
                assert.equal(
                    plan.problems.length,
                    expectations.length,
                    `problems:\n${plan.problems.join("\n")}\nexpected: ${expectations.map((e) => e.what).join("; ")}`,
                );
                for (const e of expectations) {
                    assert.ok(
                        plan.problems.some((p) => e.mentions.every((m) => p.includes(m))),
                        `${e.what}: no problem mentions ${e.mentions.join(", ")}:\n${plan.problems.join("\n")}`,
                    );
                }
                if (expectations.length === 0) {
                    assert.deepEqual(
                        plan.pending.map((f) => f.version),
                        files.filter((f) => !recorded.has(f.version)).map((f) => f.version),
                    );
                }
                assert.deepEqual(
                    plan.applied.map((a) => a.version),
                    history.map((h) => h.version),
                );
            }),
            { numRuns: 2000 },
        );
    });
});
