/**
 * The rollback's decisions, without I/O: which deploy a request selects (and
 * every refusal), which migrations stay and which of them the old code may not
 * survive, which backup --with-data restores, and the plan's refusals.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import type { BackupRecord } from "../../components/backup/types";
import { analyzeSql } from "../../components/schema/sql";
import {
    backupBefore,
    dataLosingSteps,
    deployRows,
    planRollback,
    PlanInputs,
    refuseDataLoss,
    rollbackMessage,
    rollbackOf,
    RollbackRefusedError,
    needsAllowMissing,
    selectTarget,
    stayingMigrations,
} from "../../scripts/lib/rollbackPlan";
import type { Deploy } from "../../scripts/lib/stackHistory";

function deploy(version: number, o: Partial<Deploy> = {}): Deploy {
    return {
        version,
        kind: "update",
        result: "succeeded",
        startTime: new Date(Date.UTC(2026, 10, 1, version)),
        message: `v${version}`,
        commit: `${version.toString(16).padStart(4, "0")}${"a".repeat(36)}`,
        dirty: false,
        config: {},
        outputs: { schemaVersion: String(version) },
        resourceChanges: {},
        ...o,
    };
}

const arbDeploys = fc
    .array(
        fc.record({
            kind: fc.constantFrom("update", "update", "update", "refresh", "destroy"),
            result: fc.constantFrom("succeeded", "succeeded", "failed"),
            dirty: fc.boolean(),
            hasCommit: fc.boolean(),
        }),
        { minLength: 1, maxLength: 12 },
    )
    .map((xs) =>
        xs.map((x, i) => {
            const d = deploy(i + 1, { kind: x.kind, result: x.result, dirty: x.dirty });
            if (!x.hasCommit) delete d.commit;
            return d;
        }),
    );

describe("rollback plan", () => {
    it("--previous selects the newest successful update before the current state, or refuses; a selected target is always usable", () => {
        fc.assert(
            fc.property(arbDeploys, (deploys) => {
                const current = [...deploys].reverse().find((d) => d.kind === "update");
                try {
                    const { target } = selectTarget(deploys, { previous: true }, "s");
                    assert.ok(current && target.version < current.version);
                    assert.equal(target.kind, "update");
                    assert.equal(target.result, "succeeded");
                    assert.ok(target.commit && !target.dirty);
                    const newer = deploys.filter((d) => d.version > target.version && d.version < current.version);
                    assert.ok(
                        !newer.some((d) => d.kind === "update" && d.result === "succeeded"),
                        "no newer successful update was skipped",
                    );
                } catch (err) {
                    assert.ok(err instanceof RollbackRefusedError, String(err));
                }
            }),
        );
    });

    it("--to refuses failed updates, other kinds, dirty trees, missing commits and the current state, each saying why", () => {
        const deploys = [
            deploy(1),
            deploy(2, { result: "failed" }),
            deploy(3, { kind: "refresh" }),
            deploy(4, { dirty: true }),
            deploy(5, { commit: undefined }),
            deploy(6),
        ];
        const why = (to: string) => {
            try {
                selectTarget(deploys, { to }, "prod");
                return "selected";
            } catch (err) {
                return (err as Error).message;
            }
        };
        assert.equal(why("1"), "selected");
        assert.match(why("2"), /version 2 of the prod stack failed/);
        assert.match(why("3"), /is a refresh, not an update/);
        assert.match(why("4"), /uncommitted changes/);
        assert.match(why("5"), /records no git commit/);
        assert.match(why("6"), /current state/);
        assert.match(why("9"), /has no version 9 \(its versions are 1 to 6/);
        assert.match(why("zz"), /version number or a git commit/);
        assert.equal(selectTarget(deploys, { to: deploys[0].commit!.slice(0, 6) }, "prod").target.version, 1);
    });

    it("a commit prefix shared by two commits is refused as ambiguous", () => {
        const a = deploy(1, { commit: `abcd1${"0".repeat(35)}` });
        const b = deploy(2, { commit: `abcd2${"0".repeat(35)}` });
        assert.throws(() => selectTarget([a, b, deploy(3)], { to: "abcd" }, "s"), /matches several commits/);
    });

    it("a commit whose prefix is all digits is found by 7 or more of them; up to 6 digits is a version", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[0-9]{40}$/), fc.integer({ min: 7, max: 40 }), (hash, n) => {
                const deploys = [deploy(1, { commit: hash }), deploy(2)];
                assert.equal(selectTarget(deploys, { to: hash.slice(0, n) }, "s").target.version, 1);
            }),
        );
        assert.equal(selectTarget([deploy(1), deploy(2), deploy(3)], { to: "1" }, "s").target.version, 1);
        assert.throws(() => selectTarget([deploy(1), deploy(2)], { to: "4242" }, "s"), /no version 4242 .*7 or more/);
    });

    it("the target's code accepts missing files exactly when the schema it meets is ahead of its newest file", () => {
        fc.assert(
            fc.property(
                fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }),
                fc.integer({ min: 0, max: 50 }),
                (files, schema) => {
                    const newest = files.length ? Math.max(...files) : 0;
                    assert.equal(needsAllowMissing(files.map(String), schema ? String(schema) : undefined), schema > newest);
                },
            ),
        );
        // A rollback's own deploy kept schema 3 with the code of 1-2: going back to it again meets 3.
        assert.equal(needsAllowMissing(["1", "2"], "3"), true);
        assert.equal(needsAllowMissing(["20260101120000", "20260102120000"], "20260102120000"), false);
    });

    it("staying migrations are exactly those after the target's version up to the current one", () => {
        fc.assert(
            fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 20 }), fc.nat(60), fc.nat(60), (versions, a, b) => {
                const [t, c] = a <= b ? [a, b] : [b, a];
                const files = versions.map((v) => ({ version: String(v), file: `${v}.sql`, breaking: [] }));
                const staying = stayingMigrations(files, t ? String(t) : "", String(c));
                assert.deepEqual(
                    staying.map((m) => Number(m.version)).sort((x, y) => x - y),
                    versions.filter((v) => v > t && v <= c).sort((x, y) => x - y),
                );
            }),
        );
    });

    it("the parser names what old code may not survive, and leaves additive changes alone", async () => {
        const breaks = async (sql: string) => (await analyzeSql(sql, "f.sql")).breaking.map((b) => b.what);
        assert.deepEqual(await breaks("ALTER TABLE a DROP COLUMN x"), ["ALTER TABLE a DROP COLUMN x"]);
        assert.deepEqual(await breaks("ALTER TABLE a RENAME COLUMN x TO y"), ["ALTER TABLE a RENAME COLUMN x TO y"]);
        assert.deepEqual(await breaks("ALTER TABLE a RENAME TO b"), ["ALTER TABLE a RENAME TO b"]);
        assert.deepEqual(await breaks("DROP TABLE a"), ["DROP TABLE a"]);
        assert.deepEqual(await breaks("ALTER TABLE a ALTER COLUMN x TYPE bigint"), ["ALTER TABLE a ALTER COLUMN x TYPE"]);
        assert.deepEqual(await breaks("ALTER TABLE a ADD COLUMN x int NOT NULL"), [
            "ALTER TABLE a ADD COLUMN x NOT NULL without a default",
        ]);
        assert.deepEqual(await breaks("ALTER TABLE a ALTER COLUMN x SET NOT NULL"), ["ALTER TABLE a ALTER COLUMN x SET NOT NULL"]);
        for (const additive of [
            "ALTER TABLE a ADD COLUMN x int",
            "ALTER TABLE a ADD COLUMN x int NOT NULL DEFAULT 0",
            "ALTER TABLE a ADD COLUMN x int GENERATED ALWAYS AS IDENTITY",
            "CREATE TABLE b (id int)",
            "CREATE INDEX a_x ON a (x)",
            "ALTER TABLE a ALTER COLUMN x DROP NOT NULL",
        ]) {
            assert.deepEqual(await breaks(additive), [], additive);
        }
    });

    const backup = (id: string, schemaVersion: string): BackupRecord => ({
        id,
        kind: "pg_dump",
        stack: "s",
        takenAt: "2026-11-01T00:00:00Z",
        schemaVersion,
        beforeVersion: String(Number(schemaVersion) + 1),
        location: id,
        rowCounts: { "public.accounts": 2 },
    });

    it("--with-data restores the backup the first later update took at the target's schema version", () => {
        const d1 = deploy(1, { outputs: { schemaVersion: "2" } });
        const d2 = deploy(2, { outputs: { schemaVersion: "3", latestBackup: backup("b2", "2") } });
        const d3 = deploy(3, { outputs: { schemaVersion: "4", latestBackup: backup("b3", "3") } });
        assert.equal(backupBefore([d1, d2, d3], d1)?.id, "b2");
        assert.equal(backupBefore([d1, d2, d3], d2)?.id, "b3");
        assert.equal(backupBefore([d1, d2], d2), undefined);
    });

    function inputs(o: Partial<PlanInputs> = {}): PlanInputs {
        const d1 = deploy(1, { outputs: { schemaVersion: "2", backendImage: "img:1" } });
        const d2 = deploy(2, { outputs: { schemaVersion: "3", backendImage: "img:2", latestBackup: backup("b2", "2") } });
        return {
            stack: "prod",
            deploys: [d1, d2],
            target: d1,
            current: d2,
            withData: false,
            keepSchema: false,
            keepFrontend: false,
            staying: [{ version: "3", file: "0003_drop.sql", breaking: ["line 1: ALTER TABLE a DROP COLUMN x"] }],
            installPackages: false,
            frontend: { kind: "absent", line: "no frontend" },
            now: new Date("2026-11-01T01:00:00Z"),
            ...o,
        };
    }

    it("refuses a schema the old code may not survive, and a frontend it cannot roll back, all reasons at once", () => {
        assert.throws(
            () => planRollback(inputs({ frontend: { kind: "refused", line: "Vercel: Hobby plan" } })),
            (err: Error) =>
                err instanceof RollbackRefusedError &&
                /nothing was changed/.test(err.message) &&
                /0003_drop\.sql \(line 1: ALTER TABLE a DROP COLUMN x\)/.test(err.message) &&
                /--keep-frontend/.test(err.message),
        );
        assert.ok(planRollback(inputs({ keepSchema: true, keepFrontend: true, frontend: { kind: "refused", line: "x" } })));
    });

    it("--with-data plans the backup and what is lost: the time since, and the rows per table", () => {
        const plan = planRollback(inputs({ withData: true, backup: backup("b2", "2"), rowsNow: { "public.accounts": 5 } }));
        assert.equal(plan.backup?.id, "b2");
        assert.deepEqual(plan.lost, [
            "everything written since 2026-11-01T00:00:00Z (60 min ago)",
            "public.accounts: 5 rows now, 2 in the backup (+3)",
        ]);
        assert.throws(() => planRollback(inputs({ withData: true })), /no update recorded one/);
    });

    it("the list marks targets and the current state, newest first, and the backup each deploy took", () => {
        const d1 = deploy(1, { outputs: { schemaVersion: "2" } });
        const d2 = deploy(2, { outputs: { schemaVersion: "3", latestBackup: backup("b2", "2") } });
        const d3 = deploy(3, { dirty: true, outputs: { schemaVersion: "3", latestBackup: backup("b2", "2") } });
        const rows = deployRows([d1, d2, d3]);
        assert.deepEqual(
            rows.map((r) => [r.version, r.target, r.current, r.backup]),
            [
                [3, false, true, ""],
                [2, true, false, "b2"],
                [1, true, false, ""],
            ],
        );
    });

    describe("the old code's schema (issue 19: the check counts only what the target's schema had)", () => {
        /** Migration files as the checkout has them, parsed as rollback.ts parses them. */
        const files = async (sqls: Record<string, string>) =>
            Promise.all(
                Object.entries(sqls).map(async ([version, sql]) => {
                    const a = await analyzeSql(sql, `${version}.sql`);
                    return { version, file: `000${version}.sql`, breaking: a.breaking, introduces: a.introduces };
                }),
            );
        const breaking = (staying: { version: string; breaking: string[] }[]) =>
            Object.fromEntries(staying.map((m) => [m.version, m.breaking]));

        it("a column added after the target and dropped later is not something the target's code used", async () => {
            const f = await files({
                "3": "CREATE TABLE accounts (id int, email text)",
                "4": "ALTER TABLE accounts ADD COLUMN note text",
                "5": "-- keel:allow-destructive\nALTER TABLE accounts DROP COLUMN note;\nALTER TABLE accounts DROP COLUMN email;",
            });
            // Target at 3: `note` came with 4, so only `email` (which 3 had) is a break.
            assert.deepEqual(breaking(stayingMigrations(f, "3", "5")), {
                "4": [],
                "5": ["line 3: ALTER TABLE accounts DROP COLUMN email"],
            });
            // Target at 4: its code knew `note` too.
            assert.deepEqual(breaking(stayingMigrations(f, "4", "5")), {
                "5": ["line 2: ALTER TABLE accounts DROP COLUMN note", "line 3: ALTER TABLE accounts DROP COLUMN email"],
            });
        });

        it("tables created after the target, renamed columns, and public-qualified names", async () => {
            const f = await files({
                "2": "CREATE TABLE public.notes (id int, body text); ALTER TABLE accounts RENAME COLUMN email TO mail",
                "3": "ALTER TABLE notes RENAME COLUMN body TO text; ALTER TABLE accounts DROP COLUMN mail; DROP TABLE public.notes; DROP TABLE accounts",
            });
            assert.deepEqual(breaking(stayingMigrations(f, "1", "3")), {
                "2": ["line 1: ALTER TABLE accounts RENAME COLUMN email TO mail"],
                "3": ["line 1: DROP TABLE accounts"],
            });
        });

        it("property: a break is dropped only when its object came into being after the target", () => {
            const col = fc.constantFrom("a", "b", "c");
            const step = fc.oneof(
                fc.record({ kind: fc.constant("add" as const), col }),
                fc.record({ kind: fc.constant("drop" as const), col }),
            );
            fc.assert(
                fc.property(fc.array(step, { maxLength: 8 }), fc.nat(8), (steps, cut) => {
                    const all = steps.map((s, i) => ({
                        version: String(i + 1),
                        file: `${i + 1}.sql`,
                        breaking: s.kind === "drop" ? [{ line: 1, what: `DROP COLUMN t.${s.col}`, object: `t.${s.col}` }] : [],
                        introduces: s.kind === "add" ? [{ line: 1, object: `t.${s.col}` }] : [],
                    }));
                    const target = Math.min(cut, steps.length);
                    const staying = stayingMigrations(all, String(target), String(steps.length));
                    for (const m of staying) {
                        const i = Number(m.version) - 1;
                        const s = steps[i];
                        if (s.kind !== "drop") continue;
                        const addedSince = steps.slice(target, i).some((x) => x.kind === "add" && x.col === s.col);
                        assert.equal(m.breaking.length, addedSince ? 0 : 1, JSON.stringify({ steps, target, i }));
                    }
                }),
            );
        });
    });

    describe("a rollback's own deploy", () => {
        const d1 = deploy(1);
        const d2 = deploy(2);
        // A Keel before the fix recorded it dirty: still a rollback, still a target.
        const r3 = deploy(3, { commit: d1.commit, message: rollbackMessage(1, d1.commit!), dirty: true, outputs: { schemaVersion: "2" } });
        const d4 = deploy(4);

        it("is listed as a rollback to its version, not under its commit's subject, and not as dirty", () => {
            const rows = deployRows([d1, d2, r3, d4], { [d1.commit!]: "the subject of commit 1" });
            const row = rows.find((r) => r.version === 3)!;
            assert.equal(row.message, "rollback to version 1");
            assert.equal(row.rollbackOf, 1);
            assert.equal(row.commit, d1.commit!.slice(0, 7));
            assert.equal(row.target, true);
            assert.equal(rows.find((r) => r.version === 1)!.message, "the subject of commit 1");
            assert.equal(rollbackOf(d1), undefined);
            assert.equal(rollbackOf({ kind: "refresh", message: r3.message }), undefined);
        });

        it("is a valid target by its version; --to <commit> picks the commit's own clean deploy, not the rollback", () => {
            assert.equal(selectTarget([d1, d2, r3, d4], { to: "3" }, "s").target.version, 3);
            assert.equal(selectTarget([d1, d2, r3, d4], { to: d1.commit!.slice(0, 8) }, "s").target.version, 1);
            // A newer dirty deploy of the same commit is not picked either.
            const dirty = deploy(5, { commit: d1.commit, dirty: true });
            assert.equal(selectTarget([d1, d2, r3, d4, dirty, deploy(6)], { to: d1.commit!.slice(0, 8) }, "s").target.version, 1);
        });
    });

    describe("the target's plan (pulumi preview) and the stack's data", () => {
        const urn = (type: string, name: string) => `urn:pulumi:dev::keel::keel:Database$${type}::${name}`;
        const LOCAL = "pulumi-nodejs:dynamic/keel:LocalPostgres";
        const SCHEMA = "pulumi-nodejs:dynamic/keel:SchemaMigrations";

        it("a replacement (its three steps) or a delete of a data-holding resource is found once; updates and other resources are not", () => {
            const steps = [
                { urn: urn(LOCAL, "database-local"), type: LOCAL, op: "create-replacement" },
                { urn: urn(LOCAL, "database-local"), type: LOCAL, op: "replace" },
                { urn: urn(LOCAL, "database-local"), type: LOCAL, op: "delete-replaced" },
                { urn: urn(SCHEMA, "schema-migrations"), type: SCHEMA, op: "update" },
                { urn: urn("docker:index/volume:Volume", "database-docker-data"), type: "docker:index/volume:Volume", op: "delete" },
                // The container is replaced freely: its volume holds the data.
                {
                    urn: urn("docker:index/container:Container", "database-docker-container"),
                    type: "docker:index/container:Container",
                    op: "replace",
                },
                { urn: urn("pulumi-nodejs:dynamic/keel:FlyMachines", "m"), type: "pulumi-nodejs:dynamic/keel:FlyMachines", op: "replace" },
            ];
            assert.deepEqual(
                dataLosingSteps(steps).map((s) => [s.urn.split("::").pop(), s.op]),
                [
                    ["database-local", "replace"],
                    ["database-docker-data", "delete"],
                ],
            );
            assert.throws(
                () => refuseDataLoss(steps, d(4), "dev"),
                (err: Error) =>
                    err instanceof RollbackRefusedError &&
                    /nothing was changed: the plan of its code would replace database-local \(the local PostgreSQL server and its data directory\)/.test(
                        err.message,
                    ) &&
                    /KEEL_STATE_ROOT/.test(err.message),
            );
            assert.doesNotThrow(() => refuseDataLoss(steps.slice(3, 4), d(4), "dev"));
        });
        const d = (v: number) => deploy(v);
    });
});
