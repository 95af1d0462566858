/** npm run drift's pure parts: the engine's events reduced, the table, the Markdown, the exit code. */
import { strict as assert } from "assert";
import fc from "fast-check";
import {
    checked,
    credentialProblems,
    driftExitCode,
    formatDriftDetails,
    formatDriftMarkdown,
    formatDriftTable,
    notChecked,
    notDeployed,
    RefreshEvent,
    refreshFindings,
    schemaDriftSummary,
    settleCommands,
    StackDrift,
} from "../../scripts/lib/driftReport";

const urn = (type: string, name: string) => `urn:pulumi:staging::keel::${type}::${name}`;

function outputs(type: string, name: string, op: string, news?: Record<string, any>, extra: Record<string, any> = {}): RefreshEvent {
    return {
        resOutputsEvent: {
            metadata: {
                op,
                urn: urn(type, name),
                type,
                old: { custom: true, outputs: {} },
                ...(news ? { new: { custom: true, outputs: news } } : {}),
                ...extra,
            },
        },
    };
}

const NONE = { resources: [], schemaDrift: [], historyDrift: [], pending: [], problems: [] };

describe("npm run drift: what a refresh preview found", () => {
    it("takes the schema's drift apart from the resources changed outside Keel", () => {
        const events: RefreshEvent[] = [
            outputs("pulumi:pulumi:Stack", "keel-staging", "same", { schemaDrift: ["stale"] }),
            outputs("pulumi:providers:pulumi-nodejs", "default", "same", {}),
            // A component: its registered outputs are the program's, not a refresh's.
            {
                resOutputsEvent: {
                    metadata: {
                        op: "same",
                        urn: urn("keel:schema:Schema", "schema"),
                        type: "keel:schema:Schema",
                        new: { outputs: { drift: ["stale"] } },
                    },
                },
            },
            outputs("pulumi-nodejs:dynamic/keel:SchemaMigrations", "schema-migrations", "same", {
                drift: [
                    "+ index public.x: CREATE INDEX x ON public.t USING btree (a) (added outside migrations)",
                    "+ history: version 3 (m) recorded as applied outside this stack",
                ],
                applied: [{ version: "1", name: "a", checksum: "c1", status: "applied", appliedAt: "2024-01-01T00:00:00Z" }],
            }),
            outputs("pulumi-nodejs:dynamic/keel:FlyMachines", "backend-machines", "same", {
                drift: ["- machine 9080 destroyed outside Keel"],
            }),
            outputs("pulumi-nodejs:dynamic/keel:NeonEndpoint", "endpoint", "same", { drift: [] }),
            outputs("github:index/repositoryRuleset:RepositoryRuleset", "main", "update", { name: "main" }, { diffs: ["rules"] }),
            outputs("vercel:index/project:Project", "web", "delete", undefined),
        ];
        const found = refreshFindings(events);
        assert.deepEqual(found.schema, {
            objects: ["+ index public.x: CREATE INDEX x ON public.t USING btree (a) (added outside migrations)"],
            history: ["+ history: version 3 (m) recorded as applied outside this stack"],
            applied: [{ version: "1", name: "a", checksum: "c1", status: "applied" }],
        });
        assert.deepEqual(
            found.resources.map((r) => [r.name, r.op, r.lines]),
            [
                ["backend-machines", "same", ["- machine 9080 destroyed outside Keel"]],
                ["main", "update", ["changed: rules"]],
                ["web", "delete", ["gone: deleted outside Keel"]],
            ],
        );
    });

    it("tells the credentials the shell lacks from other configuration problems", () => {
        const problem = (key: string, env?: string) => ({
            key,
            message: env ? `is not set and ${env} is not in the environment; it is needed` : "expected a number (got -3)",
            fix: "…",
        });
        assert.deepEqual(
            credentialProblems([
                problem("keel:neonApiKey", "NEON_API_KEY"),
                problem("keel:flyApiToken", "FLY_API_TOKEN"),
                problem("keel:pulumiPassphrase", "PULUMI_CONFIG_PASSPHRASE"),
                problem("keel:migrations.lockWaitSeconds"),
            ]),
            { missing: ["NEON_API_KEY", "FLY_API_TOKEN"], other: [problem("keel:migrations.lockWaitSeconds")] },
        );
    });
});

describe("npm run drift: the report", () => {
    const results: StackDrift[] = [
        checked("dev", NONE),
        checked("staging", {
            ...NONE,
            resources: [
                {
                    urn: "u",
                    type: "pulumi-nodejs:dynamic/keel:FlyMachines",
                    name: "backend-machines",
                    op: "same",
                    lines: ["- machine 1 destroyed outside Keel"],
                },
            ],
            schemaDrift: [
                "+ index public.x: … (added outside migrations)",
                "- column public.t.b (removed outside migrations)",
                "+ table public.y",
            ],
            historyDrift: ["+ history: version 3 (m) recorded as applied outside this stack"],
            pending: ["4_orders"],
        }),
        notChecked("prod", "needs PULUMI_CONFIG_PASSPHRASE, which this shell lacks: export it and run again", ["PULUMI_CONFIG_PASSPHRASE"]),
    ];

    it("one table: a row per stack, not-checked rows saying why", () => {
        assert.deepEqual(formatDriftTable(results), [
            "stack    changed outside Keel  schema drift                    migrations pending  settle",
            "dev      0                     none                            0                   clean",
            "staging  1                     2 added, 1 removed; history: 1  1                   code wins: npm run up -- staging; cloud wins: npm run refresh -- staging",
            "prod     not checked: needs PULUMI_CONFIG_PASSPHRASE, which this shell lacks: export it and run again",
        ]);
    });

    it("details every drifted object and resource, and how to settle schema drift", () => {
        const text = formatDriftDetails(results).join("\n");
        assert.match(
            text,
            /staging: drift\n {2}resources changed outside Keel:\n {4}keel:FlyMachines backend-machines:\n {6}- machine 1 destroyed outside Keel/,
        );
        assert.match(text, / {2}schema objects changed outside migrations:\n {4}\+ index public\.x/);
        assert.match(text, / {2}migrations pending: 4_orders/);
        assert.match(text, /npm run up does not undo schema changes made by hand/);
        assert.doesNotMatch(text, /^(dev|prod)/m, "clean and not-checked stacks are the table's alone");
    });

    it("Markdown for the issue: the table and a list item per drifted object, code spans that survive backticks and pipes", () => {
        const md = formatDriftMarkdown([
            checked("staging", {
                ...NONE,
                schemaDrift: ["~ function public.f(): md5:a -> md5:b", "+ constraint public.t.c: CHECK ((a | b) = `x`)"],
            }),
        ]);
        assert.match(md, /^\| staging \| 0 \| 1 added, 1 changed \| 0 \| code wins: `npm run up -- staging` \|$/m);
        assert.match(md, /^- `~ function public\.f\(\): md5:a -> md5:b`$/m);
        assert.match(md, /^- `` \+ constraint public\.t\.c: CHECK \(\(a \| b\) = `x`\) ``$/m);
    });

    it("settles what each finding needs: pending, schema and history drift only by up (a refresh keeps them drift), resources either way", () => {
        assert.deepEqual(settleCommands(checked("s", { ...NONE, pending: ["3_x"] })), { codeWins: "npm run up -- s" });
        assert.deepEqual(settleCommands(checked("s", { ...NONE, historyDrift: ["+ history: …"] })), { codeWins: "npm run up -- s" });
        assert.deepEqual(settleCommands(checked("s", { ...NONE, schemaDrift: ["+ index public.x: …"] })), { codeWins: "npm run up -- s" });
        assert.deepEqual(settleCommands(checked("s", NONE)), {});
        assert.equal(schemaDriftSummary([]), "none");
    });

    it("a stack never deployed is 'not deployed', no failure: exit 0 beside clean stacks", () => {
        const rs = [checked("dev", NONE), notDeployed("staging", "file:///state"), notDeployed("prod", "file:///state")];
        assert.equal(driftExitCode(rs), 0);
        assert.deepEqual(formatDriftTable(rs).slice(2), [
            "staging  not deployed: no state in file:///state yet (npm run up -- staging deploys it)",
            "prod     not deployed: no state in file:///state yet (npm run up -- prod deploys it)",
        ]);
        assert.match(formatDriftMarkdown(rs), /^\| staging \| not deployed: no state in file:\/\/\/state yet/m);
    });

    it("exits 1 when any stack drifts, else 2 when any was not checked, else 0", () => {
        const result = fc.constantFrom<StackDrift>(
            checked("a", NONE),
            checked("b", { ...NONE, pending: ["1_x"] }),
            notChecked("c", "why"),
            notDeployed("d", "file:///state"),
        );
        fc.assert(
            fc.property(fc.array(result, { maxLength: 6 }), (rs) => {
                const code = driftExitCode(rs);
                if (rs.some((r) => r.status === "drift")) assert.equal(code, 1);
                else if (rs.some((r) => r.status === "not-checked")) assert.equal(code, 2);
                else assert.equal(code, 0);
            }),
        );
    });
});
