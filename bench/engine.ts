/**
 * npm run bench:engine [-- --runs 3 --tables 60]
 *
 * Through the real engine (the Pulumi CLI found as npm run up finds it), in one
 * run: the dev stack on an existing PostgreSQL whose schema has `tables` tables
 * (one migration each, after the sample ones), brought up once; then, alternating
 * `runs` times, a no-op `pulumi preview` of it as `npm run preview` runs it,
 * against the same command with a trivial program (one output), and against
 * Keel's program type-checked by ts-node as Pulumi's nodejs language host runs a
 * TypeScript project, and against Keel with the dynamic-provider plugin started
 * as Pulumi's own shim starts it (without tools/pluginPreload.js, which
 * scripts/pulumi-cli.sh's shim adds). Prints min/median/max, the ratio to the trivial program,
 * the checkpoint's size and PASS/FAIL against the targets (ratio <= 1.3x,
 * checkpoint < 100 KB). Exits 0 either way: it reports, it is not a gate.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { findPulumiCli } from "../scripts/lib/pulumiCli";
import { EngineWorkspace, ROOT } from "../tools/engineWorkspace";
import { PostgresCluster } from "../tools/postgres";
import { tempDir } from "../tools/tempDir";
import { median } from "./cli";

const RATIO_TARGET = 1.3;
const CHECKPOINT_TARGET = 100 * 1024;

/** A table per migration: an identity key, seven columns, a foreign key to the previous table, an index. */
export function tableMigration(i: number): string {
    const ref = i > 1 ? `,\n    parent_id bigint REFERENCES bench_table_${i - 1} (id)` : "";
    return (
        `CREATE TABLE bench_table_${i} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL,\n` +
        `    note text,\n    amount numeric(12, 2) NOT NULL DEFAULT 0,\n    active boolean NOT NULL DEFAULT true,\n` +
        `    created_at timestamptz NOT NULL DEFAULT now(),\n    updated_at timestamptz${ref}\n);\n` +
        `CREATE INDEX bench_table_${i}_name_idx ON bench_table_${i} (lower(name));\n`
    );
}

function timed(label: string, command: string, cwd: string, env: NodeJS.ProcessEnv): number {
    const started = performance.now();
    const res = spawnSync("sh", ["-c", command], { cwd, env, encoding: "utf8" });
    const seconds = (performance.now() - started) / 1000;
    if (res.status !== 0) throw new Error(`${label} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
    return seconds;
}

export interface EngineBenchOptions {
    /** Previews of each side, alternating. */
    runs: number;
    /** Tables in the schema, one migration each. */
    tables: number;
}

/** keel bench engine (cli/bench/engine.ts). */
export async function benchEngine({ runs, tables }: EngineBenchOptions): Promise<void> {
    const cli = findPulumiCli(ROOT);
    if (!cli) throw new Error("no working Pulumi CLI: npm run pulumi:build, or put one on PATH");
    console.log(`bench:engine: pulumi ${cli.version} (${cli.bin}), ${runs} runs, ${tables} tables`);

    const cluster = await PostgresCluster.start();
    try {
        const url = await cluster.createDatabase("bench_engine");
        const ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // An existing server by URL: the stack file's own kind (local) would run a server of its own.
        ws.editStackFile("dev", (c) => (c["keel:database"] = { kind: "external" }));
        for (let i = 1; i <= tables; i++) ws.writeMigration(`${String(100 + i).padStart(4, "0")}_bench_table_${i}.sql`, tableMigration(i));
        const stack = await ws.stack("dev");
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
        process.stdout.write("  up (once, applies every migration) ... ");
        const up = await stack.up({});
        console.log(`schema version ${up.outputs.schemaVersion.value}`);

        const trivialRoot = tempDir("keel-bench-trivial-");
        fs.writeFileSync(path.join(trivialRoot, "Pulumi.yaml"), "name: trivial\nruntime: nodejs\n");
        const dynamicRoot = tempDir("keel-bench-dynamic-");
        fs.writeFileSync(path.join(dynamicRoot, "Pulumi.yaml"), "name: dynamic\nruntime: nodejs\n");
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dynamicRoot, "node_modules"));
        const env = { ...(ws.env as NodeJS.ProcessEnv), PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` };
        const build = `node ${path.join(ROOT, "tools/build.js")}`;
        // Pulumi's own plugin shim: node on the SDK's dynamic-provider, nothing preloaded.
        const plainBin = tempDir("keel-bench-plain-plugin-");
        fs.writeFileSync(
            path.join(plainBin, "pulumi-resource-pulumi-nodejs"),
            `#!/bin/sh\nexec node ${path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/dynamic-provider")} "$@"\n`,
            { mode: 0o755 },
        );
        const plainEnv = `PATH=${plainBin}${path.delimiter}${env.PATH}`;
        const sides = [
            {
                label: "Keel: npm run preview (dev, nothing to do)",
                cwd: ws.root,
                command: `${build} && node ${path.join(ROOT, "dist/cli/main.js")} stack preview`,
            },
            {
                label: "trivial program, same command",
                cwd: trivialRoot,
                command: `${build} && node ${path.join(ROOT, "dist/bench/previewProgram.js")} ${trivialRoot} trivial`,
            },
            {
                label: "Keel type-checked (nodejs language host's way)",
                cwd: ws.root,
                command: `node ${path.join(ROOT, "dist/bench/previewProgram.js")} ${ws.root} typechecked`,
            },
            {
                label: "Keel, provider started by Pulumi's plain shim",
                cwd: ws.root,
                command: `${build} && ${plainEnv} node ${path.join(ROOT, "dist/cli/main.js")} stack preview`,
            },
            {
                label: "trivial program + one no-op dynamic resource",
                cwd: dynamicRoot,
                command: `${build} && node ${path.join(ROOT, "dist/bench/previewProgram.js")} ${dynamicRoot} dynamic`,
            },
        ];
        timed("trivial up", `node ${path.join(ROOT, "dist/bench/previewProgram.js")} ${trivialRoot} trivial up`, trivialRoot, env);
        timed("dynamic up", `node ${path.join(ROOT, "dist/bench/previewProgram.js")} ${dynamicRoot} dynamic up`, dynamicRoot, env);
        // One warm-up of each, then alternate.
        for (const s of sides) timed(s.label, s.command, s.cwd, env);
        const times: number[][] = sides.map(() => []);
        for (let r = 0; r < runs; r++) {
            sides.forEach((s, i) => times[i].push(timed(s.label, s.command, s.cwd, env)));
            process.stdout.write(`  run ${r + 1}/${runs}: ${times.map((t) => `${t[r].toFixed(2)} s`).join(" | ")}\n`);
        }

        const checkpoint = Buffer.byteLength(ws.checkpointText("dev"));
        const resources = JSON.parse(ws.checkpointText("dev")).checkpoint.latest.resources as any[];
        const largest = resources
            .map((r) => ({ type: r.type, bytes: Buffer.byteLength(JSON.stringify(r)) }))
            .sort((a, b) => b.bytes - a.bytes)[0];
        const medians = times.map(median);
        const ratio = medians[0] / medians[1];

        console.log("\nno-op preview, whole command (s)        min     median  max");
        sides.forEach((s, i) =>
            console.log(
                `  ${s.label.padEnd(48)} ${Math.min(...times[i])
                    .toFixed(2)
                    .padStart(6)}  ${medians[i].toFixed(2).padStart(6)}  ${Math.max(...times[i])
                    .toFixed(2)
                    .padStart(6)}`,
            ),
        );
        console.log(
            `\nKeel / trivial program: ${ratio.toFixed(2)}x (target <= ${RATIO_TARGET}x): ${ratio <= RATIO_TARGET ? "PASS" : "FAIL"}`,
        );
        console.log(`type-checked / Keel: ${(medians[2] / medians[0]).toFixed(2)}x (what running precompiled saves)`);
        console.log(
            `Keel with Pulumi's plain plugin shim / trivial program: ${(medians[3] / medians[1]).toFixed(2)}x (a machine with Pulumi's own nodejs plugin)`,
        );
        console.log(
            `trivial + one dynamic resource / trivial program: ${(medians[4] / medians[1]).toFixed(2)}x (the floor for any program with a dynamic provider); ` +
                `Keel / that: ${(medians[0] / medians[4]).toFixed(2)}x`,
        );
        console.log(
            `dev checkpoint with ${tables} tables: ${(checkpoint / 1024).toFixed(1)} KB (target < ${CHECKPOINT_TARGET / 1024} KB): ${checkpoint < CHECKPOINT_TARGET ? "PASS" : "FAIL"}` +
                `; largest resource ${largest.type} ${(largest.bytes / 1024).toFixed(1)} KB`,
        );
        await stack.workspace.removeStack("dev", { force: true });
    } finally {
        await cluster.stop();
    }
}
