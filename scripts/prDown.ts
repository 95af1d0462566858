/**
 * keel pr down --pr <n> [--from <stack>]   (npm run pr:down)
 *
 * Removes everything `keel pr up` made for pull request <n>: every resource of
 * the stack pr-<n> (its Neon branch or database, its backend, its Vercel
 * variable and GitHub environment), then the stack itself and its file. The data
 * guard lets it go because the stack is a preview (the whole stack's destroy,
 * as `npm run destroy` does); a stack of another stage is never removed here.
 * Removing a preview that is not there is done, and says so.
 */
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../components/errors";
import { previewStackName } from "../components/previews/naming";
import { keelStack } from "./lib/engine";
import { listPreviewStacks, plainOutputs } from "./lib/previewStacks";
import { readPreviewBase, writePreviewStackFile } from "./lib/previewStackFile";
import { previewEnv, PrIo } from "./lib/previewIo";
import { runStackCommand } from "./stack";

export interface PrDownOptions {
    pr: number;
    /** The base stack the preview was made from (default staging): its file gives the preview's settings. */
    from?: string;
}

export class PrDownError extends KeelError {
    constructor(message: string) {
        super(message, "PrDownError");
    }
}

export async function prDown(o: PrDownOptions, io: PrIo): Promise<number> {
    const base = readPreviewBase(io.root, o.from ?? "staging", io.env, true);
    const env = previewEnv(base, io.env);
    const stack = previewStackName(o.pr);
    const file = path.join(io.root, `Pulumi.${stack}.yaml`);
    const existing = (await listPreviewStacks({ root: io.root, stack: base.stack, env })).find((p) => p.pr === o.pr);
    if (!existing) {
        fs.rmSync(file, { force: true });
        io.out(
            `keel: pull request #${o.pr} has no preview (no stack ${stack}): nothing to remove. Leftovers at the vendors: npm run pr:reap`,
        );
        return 0;
    }
    const outputs = await plainOutputs({ root: io.root, stack, env });
    const preview = outputs.preview as { branch?: string; createdAt?: string; base?: string } | undefined;
    if (preview?.base && preview.base !== base.stack) {
        throw new PrDownError(
            `the preview of #${o.pr} was made from ${preview.base}, not ${base.stack}: run npm run pr:down -- --pr ${o.pr} --from ${preview.base}`,
        );
    }
    // The file the stack's secrets open with (the base's salt), written again on this runner.
    writePreviewStackFile(io.root, base, {
        pr: o.pr,
        branch: preview?.branch ?? "unknown",
        now: new Date(),
        ...(preview?.createdAt ? { createdAt: preview.createdAt } : {}),
    });
    io.out(`keel: removing the preview of pull request #${o.pr} (${stack})`);
    await runStackCommand(
        "destroy",
        { stack, yes: true, message: `pr #${o.pr} closed` },
        { root: io.root, env, out: io.out, err: io.err, confirm: async () => true, ...(io.signal ? { signal: io.signal } : {}) },
    );
    const s = await keelStack({ root: io.root, stack, env, create: false });
    await s.workspace.removeStack(stack);
    fs.rmSync(file, { force: true });
    io.out(`keel: the preview of #${o.pr} is gone: its resources, the stack ${stack} and Pulumi.${stack}.yaml`);
    return 0;
}
