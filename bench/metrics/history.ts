/**
 * A stack history written as Pulumi's diy backend writes it, without the engine:
 * for each update, `.pulumi/history/<project>/<stack>/<stack>-<unix ns>.history.json`
 * (the entry `pulumi stack history` shows: pkg/backend/diy addToHistory) and,
 * with the same prefix, `.checkpoint.json` (the state after it), under a
 * project-scoped layout (`.pulumi/meta.yaml` version 1); and Keel's records
 * through scripts/lib/records.ts, as the commands write them. For the metrics
 * benchmark and the command's tests (test/metrics/command.test.ts).
 */
import * as fs from "fs";
import * as path from "path";
import type { KeelRecord } from "../../components/records/record";
import { recordLog } from "../../scripts/lib/records";

export interface SyntheticUpdate {
    kind?: string;
    result: "succeeded" | "failed";
    start: Date;
    end: Date;
    message?: string;
    commit?: string;
    /** Stack outputs after the update (latestBackup and the like). */
    outputs?: Record<string, unknown>;
}

/** A project whose state is a directory: Pulumi.yaml, a stack file per stack, and the backend URL the commands read. */
export function syntheticProject(root: string, stacks: string[], project = "keel"): Record<string, string> {
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), `name: ${project}\nruntime: nodejs\n`);
    for (const s of stacks) fs.writeFileSync(path.join(root, `Pulumi.${s}.yaml`), "config: {}\n");
    const state = path.join(root, ".pulumi-state");
    fs.mkdirSync(path.join(state, ".pulumi"), { recursive: true });
    fs.writeFileSync(path.join(state, ".pulumi", "meta.yaml"), "version: 1\n");
    return { PULUMI_BACKEND_URL: `file://${state}` };
}

/** A Stack resource and `padding` others, so a checkpoint weighs what a small real stack's does. */
function checkpoint(project: string, stack: string, outputs: Record<string, unknown>, padding: number): unknown {
    const urn = (type: string, name: string) => `urn:pulumi:${stack}::${project}::${type}::${name}`;
    const resources: unknown[] = [
        { urn: urn("pulumi:pulumi:Stack", `${project}-${stack}`), custom: false, type: "pulumi:pulumi:Stack", outputs },
    ];
    for (let i = 0; i < padding; i++) {
        const inputs = {
            name: `resource-${i}`,
            region: "iad",
            image: "registry.fly.io/shop:1.0.0",
            env: { LOG_LEVEL: "info", PORT: "8080" },
        };
        resources.push({
            urn: urn("keel:index:Resource", `r${i}`),
            custom: true,
            id: `id-${i}-${"0".repeat(24)}`,
            type: "keel:index:Resource",
            inputs,
            outputs: { ...inputs, createdAt: "2026-01-01T00:00:00Z", fingerprint: "f".repeat(64) },
            parent: urn("pulumi:pulumi:Stack", `${project}-${stack}`),
            provider: urn("pulumi:providers:keel", "default"),
        });
    }
    return {
        version: 3,
        checkpoint: { stack: `organization/${project}/${stack}`, latest: { manifest: { time: "", magic: "", version: "" }, resources } },
    };
}

/** Writes the updates, oldest first; `padding` resources per checkpoint. */
export function writeHistory(env: Record<string, string>, stack: string, updates: SyntheticUpdate[], padding = 20, project = "keel"): void {
    const dir = path.join(env.PULUMI_BACKEND_URL.slice("file://".length), ".pulumi", "history", project, stack);
    fs.mkdirSync(dir, { recursive: true });
    for (const u of updates) {
        const name = path.join(dir, `${stack}-${BigInt(u.start.getTime()) * 1_000_000n}`);
        const info = {
            kind: u.kind ?? "update",
            startTime: Math.floor(u.start.getTime() / 1000),
            message: u.message ?? "",
            environment: {
                "exec.kind": "cli",
                ...(u.commit ? { "git.head": u.commit, "git.dirty": "false", "git.headName": "refs/heads/main" } : {}),
            },
            config: { "keel:stage": "staging" },
            result: u.result,
            endTime: Math.floor(u.end.getTime() / 1000),
            resourceChanges: { same: padding },
        };
        fs.writeFileSync(`${name}.history.json`, JSON.stringify(info));
        fs.writeFileSync(`${name}.checkpoint.json`, JSON.stringify(checkpoint(project, stack, u.outputs ?? {}, padding)));
    }
}

/** Keeps the records as the commands do (create-if-absent objects under .keel/records/ of the backend). */
export async function writeRecords(root: string, env: Record<string, string>, stack: string, records: KeelRecord[]): Promise<void> {
    const log = recordLog(root, stack, env, {
        warn: (line) => {
            throw new Error(line);
        },
    });
    for (const r of records) await log.append(r);
}
