/**
 * keel pr reap [--from <stack>] [--open <n,...>] [--dry-run] [--yes]
 *
 * Removes the previews of closed pull requests and the expired ones, and
 * every vendor object named as a Keel preview's that no preview stack owns
 * (components/previews/reap.ts decides; this gathers the inventory and
 * carries the plan out). Only what a preview's name marks is ever touched.
 *
 * The vendor objects are listed before the stacks: an object a concurrent
 * `pr up` makes after the stacks were listed could otherwise look orphaned,
 * while its stack, made before its objects, is then always seen.
 */
import type { KeelConfig } from "../components/config";
import { findNeonProject } from "../components/database/neon/stackBranch";
import { KeelError } from "../components/errors";
import { describeObject, describeReapPlan, planReap, ReapPlan, VendorObject } from "../components/previews/reap";
import { prOfStack } from "../components/previews/naming";
import { FlyAppsClient, resolveFlyCredentials } from "../components/vendors/fly";
import { renderClient, resolveRenderCredentials } from "../components/vendors/render";
import { vercelClient } from "../components/vendors/vercel";
import {
    BackendStack,
    flyAppInventory,
    githubEnvironmentInventory,
    GithubRepoTarget,
    heldBy,
    previewBackendStacks,
    neonBranchInventory,
    openPullRequests,
    PreviewInventory,
    renderServiceInventory,
    vercelVariableInventory,
} from "./lib/previewInventory";
import { scriptNeonClient } from "./lib/neonStack";
import { readStackConfig } from "./lib/stackConfig";
import { UsageError } from "./lib/usageError";

export class PrReapError extends KeelError {
    constructor(message: string) {
        super(message, "PrReapError");
    }
}

export interface PrReapOptions {
    /** The base stack whose vendors hold the previews; default staging. */
    from?: string;
    /** The open pull requests; default: the base's repository's, from the GitHub API. */
    open?: number[];
    dryRun?: boolean;
    yes?: boolean;
}

export interface PrReapIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    confirm(question: string): Promise<boolean>;
    /**
     * Removes a whole preview stack and what its state holds: `keel pr down`.
     * Absent where this checkout has no `pr down`: such stacks are reported as
     * not removed (exit 1), the other removals still happen.
     */
    removeStack?: (stack: string) => Promise<void>;
    /** Default: the clock. */
    now?: () => Date;
    /** Default: every vendor the base uses, from its stack file (previewInventories). */
    inventories?: PreviewInventory[];
    /** Default: the stacks of the state backend (listBackendStacks). */
    listStacks?: () => Promise<BackendStack[]>;
}

/** The repository of the base's keel:github, with GITHUB_TOKEN; undefined when the base names none. */
function githubTarget(config: KeelConfig, env: Record<string, string | undefined>): GithubRepoTarget | undefined {
    if (!config.github) return undefined;
    const token = env.GITHUB_TOKEN;
    if (!token) {
        throw new PrReapError(
            `Stack '${config.stack}' names the repository ${config.github.owner}/${config.github.repository}, and reading its pull requests and environments needs a token: ` +
                `export GITHUB_TOKEN (in a workflow: permissions pull-requests: read and administration: write, or a fine-grained token with environments write)`,
        );
    }
    return {
        owner: config.github.owner,
        repository: config.github.repository,
        token,
        ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
    };
}

/** Every vendor the base stack uses, as an inventory of preview objects. */
export async function previewInventories(
    config: KeelConfig,
    env: Record<string, string | undefined>,
    out: (line: string) => void,
): Promise<PreviewInventory[]> {
    const inventories: PreviewInventory[] = [];
    if (config.database.kind === "neon") {
        const api = scriptNeonClient(config.stack, env, out);
        const projectId = await findNeonProject(api, config.database);
        inventories.push(neonBranchInventory(api, projectId, config.database.project.name, out));
    }
    if (config.backend?.kind === "fly") {
        const creds = resolveFlyCredentials({ env });
        const client = new FlyAppsClient({ token: creds.token, baseUrl: creds.baseUrl, onProgress: out });
        inventories.push(flyAppInventory(client, config.backend.fly.org, config.backend.fly.app));
    }
    if (config.backend?.kind === "render") {
        const creds = resolveRenderCredentials({ env });
        const client = renderClient({ apiKey: creds.apiKey, baseUrl: creds.baseUrl, onProgress: out });
        inventories.push(renderServiceInventory(client, config.backend.render.ownerId, config.backend.render.name));
    }
    const github = githubTarget(config, env);
    if (github) inventories.push(githubEnvironmentInventory(github));
    if (config.frontend?.backendUrlEnv) {
        const client = vercelClient({ env, ...(config.frontend.teamId ? { teamId: config.frontend.teamId } : {}), onProgress: out });
        inventories.push(vercelVariableInventory(client, config.frontend.name));
    }
    return inventories;
}

/** The vendor objects, then the stacks (see the module's comment), and the plan. */
export async function inventoryAndPlan(
    open: number[],
    now: Date,
    inventories: PreviewInventory[],
    listStacks: () => Promise<BackendStack[]>,
): Promise<ReapPlan> {
    const listed: VendorObject[] = [];
    for (const inventory of inventories) listed.push(...(await inventory.list()));
    const stacks = await listStacks();
    const byName = new Map(stacks.map((s) => [s.name, s]));
    const objects = listed.map((o) => (o.pr === undefined ? o : { ...o, owned: heldBy(byName.get(`pr-${o.pr}`), o) }));
    return planReap({
        now,
        openPrs: new Set(open),
        stacks: stacks.map((s) => ({ name: s.name, ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}) })),
        objects,
    });
}

export async function prReap(options: PrReapOptions, io: PrReapIo): Promise<number> {
    const from = options.from ?? "staging";
    if (prOfStack(from) !== undefined) throw new UsageError(`--from ${from} is a preview; name the stack previews are made from (staging)`);
    const config = readStackConfig(io.root, from, io.env);
    let open = options.open;
    if (!open) {
        const github = githubTarget(config, io.env);
        if (!github)
            throw new UsageError(
                `stack '${from}' has no keel:github, so the open pull requests cannot be read: pass them with --open <n,...> (or --open none)`,
            );
        open = await openPullRequests(github);
    }
    const inventories = io.inventories ?? (await previewInventories(config, io.env, io.out));
    const plan = await inventoryAndPlan(
        open,
        (io.now ?? (() => new Date()))(),
        inventories,
        io.listStacks ?? (() => previewBackendStacks(io.root, io.env, from)),
    );

    const live = plan.kept.map((k) => k.name).join(", ");
    const keptLine = `kept: ${plan.kept.length ? live : "no live preview"} (open PRs: ${open.length ? open.map((n) => `#${n}`).join(", ") : "none"})`;
    const lines = describeReapPlan(plan);
    if (!lines.length) {
        io.out(`Nothing to reap. ${keptLine}`);
        return 0;
    }
    if (options.dryRun) {
        for (const l of lines) io.out(`would remove ${l}`);
        io.out(keptLine);
        return 0;
    }
    if (options.yes !== true) {
        io.out(`keel pr reap will remove:\n${lines.map((l) => `  ${l}`).join("\n")}`);
        if (!(await io.confirm("Go ahead? [y/N] "))) {
            io.out("Nothing was changed. (Pass --yes to skip this question in scripts.)");
            return 1;
        }
    }

    const failures: string[] = [];
    for (const s of plan.stacks) {
        const what = `stack ${s.name} (PR #${s.pr}, ${s.reason})`;
        if (!io.removeStack) {
            failures.push(`${what}: not removed, this checkout has no keel pr down to remove a preview stack`);
            continue;
        }
        try {
            await io.removeStack(s.name);
            io.out(`removed ${what}${s.objects.length ? ` with ${s.objects.map(describeObject).join(", ")}` : ""}`);
        } catch (err) {
            failures.push(`${what}: ${(err as Error)?.message ?? String(err)}`);
        }
    }
    const byVendor = new Map(inventories.map((i) => [i.vendor, i]));
    for (const { object, reason } of plan.objects) {
        const what = `${describeObject(object)} (PR #${object.pr}, ${reason})`;
        try {
            // The plan holds marked objects only; checked again here, where the deleting happens.
            if (object.pr === undefined) throw new PrReapError(`refusing to remove an object not marked as a preview's`);
            await byVendor.get(object.vendor)!.remove(object);
            io.out(`removed ${what}`);
        } catch (err) {
            failures.push(`${what}: ${(err as Error)?.message ?? String(err)}`);
        }
    }
    io.out(keptLine);
    if (failures.length) {
        io.out(`not removed (run keel pr reap again once fixed):\n${failures.map((f) => `  ${f}`).join("\n")}`);
        return 1;
    }
    return 0;
}
