/**
 * keel drift [--stack <s> ...] [--json] [--markdown <file>] (npm run drift): every stack
 * with a Pulumi.<stack>.yaml (or those named) refreshed in preview mode
 * through the real engine (`pulumi refresh --preview-only`: the state is not
 * written, nothing at a vendor changes, the program does not run), and one
 * table: resources changed outside Keel, schema drift (objects added, changed
 * or removed outside migrations), migrations pending, and the command that
 * settles each (the code wins: npm run up; the cloud wins: npm run refresh).
 *
 * A stack never deployed (no state with resources in the backend) is "not
 * deployed": nothing there can drift, and nothing is asked of it. A stack that
 * cannot be checked is reported with why and the run goes on: one whose
 * credentials this shell lacks (the passphrase outside dev, NEON_API_KEY,
 * FLY_API_TOKEN, …) names the variables to set. Exit 0 when every stack is
 * clean or not deployed, 1 when any drifts, else 2 when any could not be checked.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { keepRecord } from "./lib/records";
import * as path from "path";
import { parseKeelConfig, stacksIn } from "../components/config";
import { ConfigError, KeelError } from "../components/errors";
import { maskSecrets, SECRET_ENV } from "../components/preflight/index";
import { scanMigrations } from "../components/schema/migrationSet";
import { HistoryRow, migrationPlan } from "../components/schema/plan";
import {
    checked,
    credentialProblems,
    driftExitCode,
    driftJson,
    formatDriftDetails,
    formatDriftMarkdown,
    formatDriftTable,
    notChecked,
    notDeployed,
    RefreshEvent,
    refreshFindings,
    schemaDriftSummary,
    StackDrift,
} from "./lib/driftReport";
import { keelStack, keepingStackFile, missingPassphrase, redactedBackend, stateBackend } from "./lib/engine";
import { PulumiCli, pulumiCliOrBuild } from "./lib/pulumiCli";
import { rawStackConfig } from "./lib/stackConfig";

export interface DriftIo {
    root: string;
    env: Record<string, string | undefined>;
    out(text: string): void;
    err(text: string): void;
    /** The engine's CLI (default: found as npm run up finds it). */
    cli?: PulumiCli;
}

function message(err: unknown): string {
    return String((err as Error)?.message ?? err);
}

/**
 * The credentials the refresh needs that neither the stack's config nor this shell holds. Only those:
 * the config's other problems are the next preview's to report (and a refresh does not run the program).
 */
function missingCredentials(root: string, stack: string, env: Record<string, string | undefined>): string[] {
    try {
        parseKeelConfig({ ...rawStackConfig(root, stack, env), deployCredentials: true });
        return [];
    } catch (err) {
        return err instanceof ConfigError ? credentialProblems(err.problems).missing : [];
    }
}

/** The engine's reasons for a failed refresh: its error diagnostics, else the error's first lines. */
function refreshFailure(err: unknown, diagnostics: string[]): string {
    const text = diagnostics.length ? diagnostics.join(" ") : message(err);
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !/^(code|stdout|stderr|err\?):/.test(l) && !/One or more errors occurred/.test(l))
        .slice(0, 6)
        .join(" ")
        .slice(0, 600);
}

/** One stack: checked, or not checked with why; never throws. */
export async function checkStack(stack: string, io: DriftIo, deployed?: Set<string>): Promise<StackDrift> {
    try {
        return await check(stack, io, deployed);
    } catch (err) {
        return notChecked(stack, message(err));
    }
}

/**
 * The stacks that have been deployed (state with resources in the backend), or
 * undefined when the backend cannot be listed. Listing needs no passphrase and
 * no vendor key, so a stack never deployed is told apart before they are asked for.
 */
export async function deployedStacks(io: DriftIo): Promise<Set<string> | undefined> {
    const backend = stateBackend(io.root, io.env);
    // A file backend whose directory does not exist holds no stack.
    if (backend.startsWith("file://") && !fs.existsSync(backend.slice("file://".length))) return new Set();
    try {
        const cli = io.cli ?? pulumiCliOrBuild(io.root, io.env);
        const env = Object.fromEntries(Object.entries(io.env).filter((e): e is [string, string] => e[1] !== undefined));
        const res = spawnSync(cli.bin, ["stack", "ls", "--json"], {
            cwd: io.root,
            encoding: "utf8",
            env: { ...env, PULUMI_BACKEND_URL: backend, PULUMI_SKIP_UPDATE_CHECK: "true" },
        });
        if (res.status !== 0) return undefined;
        const stacks = JSON.parse(res.stdout) as { name: string; resourceCount?: number }[];
        // `stack init` (npm run stack:new) makes a stack without resources: created, not deployed.
        return new Set(stacks.filter((s) => (s.resourceCount ?? 0) > 0).map((s) => s.name.replace(/^.*\//, "")));
    } catch {
        return undefined;
    }
}

async function check(stack: string, io: DriftIo, deployed?: Set<string>): Promise<StackDrift> {
    if (!fs.existsSync(path.join(io.root, `Pulumi.${stack}.yaml`))) return notChecked(stack, `no Pulumi.${stack}.yaml in ${io.root}`);
    if (deployed && !deployed.has(stack)) return notDeployed(stack, redactedBackend(stateBackend(io.root, io.env)));
    const missing = missingCredentials(io.root, stack, io.env);
    const passphrase = missingPassphrase(io.root, stack, io.env);
    if (passphrase) missing.unshift("PULUMI_CONFIG_PASSPHRASE");
    if (missing.length) {
        return notChecked(
            stack,
            `needs ${missing.join(", ")}, which this shell lacks: export ${missing.length === 1 ? "it" : "them"} and run again` +
                (missing.some((m) => m !== "PULUMI_CONFIG_PASSPHRASE") ? " (an API key may be the stack's secret config instead)" : ""),
            missing,
        );
    }
    const events: RefreshEvent[] = [];
    const diagnostics: string[] = [];
    try {
        await keepingStackFile(io.root, stack, async () => {
            const s = await keelStack({ root: io.root, stack, env: io.env, create: false, ...(io.cli ? { cli: io.cli } : {}) });
            await s.previewRefresh({
                onEvent: (e) => {
                    events.push(e as RefreshEvent);
                    const d = e.diagnosticEvent;
                    if (d && /^error/.test(d.severity)) diagnostics.push(d.message.trim());
                },
                onOutput: () => undefined,
                onError: () => undefined,
            });
        });
    } catch (err) {
        if (err instanceof KeelError) return notChecked(stack, message(err));
        const secrets = SECRET_ENV.map((k) => io.env[k]);
        return notChecked(stack, maskSecrets(`the refresh failed: ${refreshFailure(err, diagnostics)}`, secrets));
    }

    const findings = refreshFindings(events);
    // Pending: the files of the directory the last deploy used that the refreshed history lacks, planned with its settings.
    let files: { version: string; name: string; file: string; checksum: string }[] = [];
    const problems: string[] = [];
    const dir = findings.schema?.migrationsDir ?? "migrations";
    try {
        files = scanMigrations(path.resolve(io.root, dir));
    } catch (err) {
        problems.push(message(err));
    }
    const history: HistoryRow[] = (findings.schema?.applied ?? []).map((r) => ({ ...r, status: r.status as HistoryRow["status"] }));
    const plan = migrationPlan(files, history, findings.schema?.plan ?? { allowMissing: false, outOfOrder: false });
    return checked(stack, {
        resources: findings.resources,
        schemaDrift: findings.schema?.objects ?? [],
        historyDrift: findings.schema?.history ?? [],
        pending: plan.pending.map((f) => `${f.version}_${f.name}`),
        problems: [...problems, ...plan.problems],
    });
}

function progressLine(r: StackDrift): string {
    if (r.status === "not-checked") return `${r.stack}: not checked: ${r.reason}`;
    if (r.status === "not-deployed") return `${r.stack}: not deployed`;
    if (r.status === "clean") return `${r.stack}: clean`;
    return (
        `${r.stack}: drift (changed outside Keel: ${r.resources.length}, schema drift: ${schemaDriftSummary(r.schemaDrift)}, ` +
        `migrations pending: ${r.pending.length})`
    );
}

export interface DriftOptions {
    /** The stacks to check (default: every Pulumi.<stack>.yaml). */
    stacks: string[];
    /** The result as JSON on stdout (progress lines go to stderr). */
    json?: boolean;
    /** Also write the result as Markdown to this file. */
    markdown?: string;
}

export async function runDrift(options: DriftOptions, io: DriftIo): Promise<number> {
    const named = options.stacks;
    const stacks = named.length ? [...new Set(named)] : stacksIn(io.root);
    const json = options.json === true;
    const progress = (line: string) => (json ? io.err : io.out)(`${line}\n`);
    const results: StackDrift[] = [];
    const deployed = await deployedStacks(io);
    for (const stack of stacks) {
        if (!deployed || deployed.has(stack)) progress(`${stack}: refreshing in preview mode (nothing is changed)...`);
        const result = await checkStack(stack, io, deployed);
        progress(progressLine(result));
        results.push(result);
        await recordDrift(io, result, progress);
    }
    const markdown = options.markdown;
    if (typeof markdown === "string") fs.writeFileSync(markdown, formatDriftMarkdown(results));
    if (json) io.out(`${JSON.stringify(driftJson(results), null, 2)}\n`);
    else io.out(`\n${[...formatDriftTable(results), ...formatDriftDetails(results)].join("\n")}\n`);
    return driftExitCode(results);
}

/**
 * A checked stack's finding, kept for the metrics (drift runs, and those that found drift); a stack
 * that could not be checked found nothing and is not recorded.
 */
async function recordDrift(io: DriftIo, r: StackDrift, say: (line: string) => void): Promise<void> {
    if (r.status !== "clean" && r.status !== "drift") return;
    const findings = r.resources.length + r.schemaDrift.length + r.historyDrift.length + r.pending.length + r.problems.length;
    await keepRecord(
        io.root,
        r.stack,
        io.env,
        { kind: "drift", stack: r.stack, at: new Date().toISOString(), drifted: r.status === "drift", findings },
        say,
    );
}

/** runDrift with its exit codes: 1 means drift, so a run that could not check is 2 (its error on io.err). */
export async function drift(options: DriftOptions, io: DriftIo): Promise<number> {
    try {
        return await runDrift(options, io);
    } catch (err) {
        io.err(`error: ${message(err)}\n`);
        return 2;
    }
}
