/**
 * keel pr list [--from <stack>] [--json]   (npm run pr:list)
 *
 * Every preview in the state backend: its pull request, age, expiry, URLs and
 * what it costs to keep (its machines, its Neon branch or database), read from
 * each preview stack's outputs, so it works from a fresh CI runner.
 */
import { previewRows, previewTable, PreviewRow } from "../components/previews/list";
import { listPreviewStacks, plainOutputs } from "./lib/previewStacks";
import { readPreviewBase } from "./lib/previewStackFile";
import { previewEnv, PrIo } from "./lib/previewIo";

export interface PrListOptions {
    from?: string;
    json?: boolean;
    /** The time ages and expiries are measured from (tests). */
    now?: Date;
}

export async function prList(o: PrListOptions, io: PrIo): Promise<number> {
    const base = readPreviewBase(io.root, o.from ?? "staging", io.env, true);
    const env = previewEnv(base, io.env);
    const stacks = await listPreviewStacks({ root: io.root, stack: base.stack, env });
    const found = await Promise.all(
        stacks.map(async (s) => ({ ...s, outputs: await plainOutputs({ root: io.root, stack: s.stack, env }) })),
    );
    const rows: PreviewRow[] = previewRows(found, o.now ?? new Date());
    if (o.json) io.out(JSON.stringify(rows, null, 2));
    else for (const line of previewTable(rows)) io.out(line);
    return 0;
}
