import { strict as assert } from "assert";
import { HistoryRow, migrationPlan, PlanOptions, PlannedFile } from "../../components/schema/plan";

function file(version: string, checksum = `sum${version}`): PlannedFile {
    return { version, name: `m${version}`, file: `${version}_m${version}.sql`, checksum };
}
function row(version: string, checksum = `sum${version}`, status: HistoryRow["status"] = "applied"): HistoryRow {
    return { version, name: `m${version}`, checksum, status };
}
const strict: PlanOptions = { allowMissing: false, outOfOrder: false };

describe("migrationPlan", () => {
    it("pends what the history lacks, in order", () => {
        const plan = migrationPlan([file("1"), file("2"), file("3")], [row("1")], strict);
        assert.deepEqual(
            plan.pending.map((f) => f.version),
            ["2", "3"],
        );
        assert.deepEqual(plan.problems, []);
    });

    it("reports an edited file with both checksums", () => {
        const plan = migrationPlan([file("1", "new")], [row("1", "old")], strict);
        assert.equal(plan.problems.length, 1);
        assert.match(plan.problems[0], /1_m1\.sql was edited after it was applied: checksum in the database old, on disk new/);
    });

    it("reports a deleted file unless allowMissing", () => {
        assert.match(
            migrationPlan([file("1")], [row("1"), row("2")], strict).problems[0],
            /version 2 \(m2\) is applied .* file is missing.*allowMissing/,
        );
        assert.deepEqual(migrationPlan([file("1")], [row("1"), row("2")], { ...strict, allowMissing: true }).problems, []);
    });

    it("refuses a new file older than the newest applied one unless outOfOrder", () => {
        const files = [file("1"), file("2"), file("3")];
        const history = [row("1"), row("3")];
        assert.match(
            migrationPlan(files, history, strict).problems[0],
            /2_m2\.sql is new but older than the newest applied version 3.*outOfOrder/,
        );
        const relaxed = migrationPlan(files, history, { ...strict, outOfOrder: true });
        assert.deepEqual(
            relaxed.pending.map((f) => f.version),
            ["2"],
        );
    });

    it("baselines versions up to the baseline and runs the rest", () => {
        const plan = migrationPlan([file("1"), file("2"), file("3")], [], { ...strict, baseline: "2" });
        assert.deepEqual(
            plan.baselined.map((f) => f.version),
            ["1", "2"],
        );
        assert.deepEqual(
            plan.pending.map((f) => f.version),
            ["3"],
        );
    });

    it("blocks on a failed or interrupted migration and says how to resolve it", () => {
        const plan = migrationPlan([file("1"), file("2"), file("3")], [row("1"), row("2", "sum2", "failed")], strict);
        assert.equal(plan.problems.length, 1);
        assert.match(plan.problems[0], /version 2 \(m2\) is recorded as failed.*schema:resolve -- 2 --applied.*--rolled-back/);
        const interrupted = migrationPlan([file("1")], [row("1", "sum1", "running")], strict);
        assert.match(interrupted.problems[0], /recorded as running: .* stopped before it finished/);
    });

    it("reports an applied file renamed under the same version, naming the old and the new name", () => {
        const renamed: PlannedFile = { version: "3", name: "add_index", file: "0003_add_index.sql", checksum: "sum3" };
        const plan = migrationPlan([file("1"), file("2"), renamed], [row("1"), row("2"), { ...row("3"), name: "add_idx" }], strict);
        assert.equal(plan.problems.length, 1);
        assert.match(plan.problems[0], /0003_add_index\.sql is 0003_add_idx\.sql renamed: version 3 was applied as 'add_idx'/);
        assert.match(plan.problems[0], /[Rr]ename it back to 0003_add_idx\.sql/);
        assert.deepEqual(plan.pending, []);
    });

    it("reports an applied file renamed to a new version (same bytes, old file gone) instead of running it again", () => {
        const moved: PlannedFile = { version: "5", name: "m2", file: "0005_m2.sql", checksum: "sum2" };
        for (const options of [strict, { ...strict, allowMissing: true }, { ...strict, outOfOrder: true }]) {
            const plan = migrationPlan([file("1"), moved, file("6")], [row("1"), row("2")], options);
            assert.equal(plan.problems.length, 1, plan.problems.join("\n"));
            assert.match(plan.problems[0], /0005_m2\.sql has the same bytes as version 2 \(m2\), which is applied and whose file is gone/);
            assert.match(plan.problems[0], /2_m2\.sql/);
            assert.match(plan.problems[0], /would run it again/);
            assert.deepEqual(
                plan.pending.map((f) => f.version),
                ["6"],
                "the renamed file is not pending",
            );
        }
        // Renamed below the newest applied version: a rename, not an out-of-order file.
        const older = migrationPlan(
            [file("1"), { ...moved, version: "3", file: "3_m2.sql" }, file("5")],
            [row("1"), row("2"), row("5")],
            strict,
        );
        assert.equal(older.problems.length, 1, older.problems.join("\n"));
        assert.match(older.problems[0], /3_m2\.sql has the same bytes as version 2/);
    });

    it("a new file with the same bytes as an applied one whose file is still there is a copy, not a rename", () => {
        const copy: PlannedFile = { version: "3", name: "refresh_again", file: "3_refresh_again.sql", checksum: "sum2" };
        const plan = migrationPlan([file("1"), file("2"), copy], [row("1"), row("2")], strict);
        assert.deepEqual(plan.problems, []);
        assert.deepEqual(
            plan.pending.map((f) => f.version),
            ["3"],
        );
    });

    it("reports every problem at once", () => {
        const plan = migrationPlan([file("1", "x"), file("2")], [row("1"), row("3"), row("4")], strict);
        assert.equal(plan.problems.length, 4); // edited 1, missing 3 and 4, out-of-order 2
    });
});
