/**
 * Runs the target's program for a rollback, in a process of its own: the code
 * and packages of the target's worktree are loaded there (its own build of
 * Keel, its own @pulumi/pulumi when its lockfile differs), never mixed with the
 * Keel running the command. The job comes as JSON in argv[2]:
 *   { "root": <project dir in the worktree>, "stack": "...", "mode": "preview" | "up",
 *     "configFile": <the stack file to use>, "result": <file for the outcome>, "message": "...", "policyPacks": [...] }
 * `preview` plans the update and changes nothing; `up` runs it. Both read the
 * stack's settings from `configFile`, a copy outside the worktree, so the
 * worktree stays exactly its commit (the CLI records `git.dirty` from it).
 *
 * The outcome goes to the `result` file as JSON (RunnerResult): the planned
 * steps and the engine's error diagnostics, each once. While an update runs,
 * its steps and the providers' progress lines go to stdout; errors are left
 * for the command to say once, never the Automation API's raw dump of the
 * CLI's output. Exit 0 on success.
 */
import * as fs from "fs";
import * as path from "path";

interface Job {
    root: string;
    stack: string;
    mode: "preview" | "up";
    configFile: string;
    result: string;
    message?: string;
    policyPacks?: string[];
}

/** A step the engine planned or took for one resource (resourcePreEvent). */
export interface RunnerStep {
    urn: string;
    type: string;
    op: string;
}

export interface RunnerResult {
    ok: boolean;
    steps: RunnerStep[];
    /** The engine's error diagnostics, each once, without colour codes. */
    errors: string[];
}

/** A diagnostic's text without the engine's colour tags and ANSI codes. */
export function plainText(message: string): string {
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
    return message
        .replace(/<\{%[^%]*%\}>/g, "")
        .replace(ansi, "")
        .trim();
}

/** The name part of a URN: `urn:pulumi:dev::keel::a$b::name` -> `name`. */
export function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

async function main(job: Job): Promise<RunnerResult> {
    const result: RunnerResult = { ok: false, steps: [], errors: [] };
    const seen = new Set<string>();
    const onEvent = (e: any) => {
        const pre = e.resourcePreEvent?.metadata;
        if (pre && pre.op !== "same" && pre.type !== "pulumi:pulumi:Stack" && !pre.type.startsWith("pulumi:providers:")) {
            result.steps.push({ urn: pre.urn, type: pre.type, op: pre.op });
            if (job.mode === "up")
                process.stdout.write(`  ${pre.op} ${pre.type.replace(/^pulumi-nodejs:dynamic\//, "")} ${urnName(pre.urn)}\n`);
        }
        const d = e.diagnosticEvent;
        if (!d || d.ephemeral || d.severity === "debug") return;
        const text = plainText(d.message ?? "");
        if (!text || seen.has(`${d.severity}:${text}`)) return;
        seen.add(`${d.severity}:${text}`);
        if (d.severity === "error") result.errors.push(text.replace(/^error:\s*/, ""));
        // The providers' progress, as `keel fly: …`; warnings keep their word.
        else if (job.mode === "up")
            process.stdout.write(`  ${text.replace(/^info:\s*/, "").replace(/^(warning:\s*)?\[runtime\]\s*/, "$1")}\n`);
    };
    try {
        // The worktree's own engine module, built from the target's commit.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const engine = require(path.join(job.root, "dist", "scripts", "lib", "engine.js"));
        const stack = await engine.keelStack({ root: job.root, stack: job.stack, env: process.env });
        const common = { configFile: job.configFile, policyPacks: job.policyPacks ?? [], onEvent };
        if (job.mode === "preview") await stack.preview(common);
        else {
            const up = await stack.up({ ...common, message: job.message });
            if (up.summary.result !== "succeeded") throw new Error(`the update ended ${up.summary.result}`);
        }
        result.ok = true;
    } catch (err: any) {
        // The Automation API's CommandError repeats the CLI's whole output: the diagnostics above say it once.
        if (!result.errors.length) result.errors.push(firstLine(String(err?.message ?? err)));
    }
    // The engine's closing "update failed" says nothing a resource's own error did not.
    if (result.errors.length > 1) result.errors = result.errors.filter((e) => !/^(update|preview) failed$/i.test(e));
    return result;
}

/** The meaningful line of an error the engine did not report as a diagnostic (a CommandError's `stderr:` part, else its first line). */
function firstLine(message: string): string {
    const stderr = /stderr:\s*([\s\S]*?)(\n\s*err\?:|$)/.exec(message)?.[1];
    const lines = (stderr && stderr.trim() ? stderr : message)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !/^(code|stdout|stderr|err\?):/.test(l));
    const error = lines.find((l) => /^error:/i.test(l));
    return (error ?? lines[0] ?? "the engine failed without a message").replace(/^error:\s*/i, "");
}

if (require.main === module) {
    const job = JSON.parse(process.argv[2]) as Job;
    main(job).then(
        (result) => {
            fs.writeFileSync(job.result, JSON.stringify(result));
            process.exit(result.ok ? 0 : 1);
        },
        (err) => {
            process.stderr.write(`${String(err?.message ?? err).trim()}\n`);
            process.exit(1);
        },
    );
}
