/**
 * A step of a generated workflow, run as a GitHub runner would run it: its
 * `env:` resolved against a GitHub context (an environment's secrets and
 * variables, the dispatch inputs, `github.*`; an unset secret or variable is
 * empty, as on GitHub), and its `run:` script given to bash with the runner's
 * flags. The commands then run for real; only what needs GitHub itself (gh,
 * sleep between probes) can be replaced with a fake.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { generateWorkflows, WorkflowOptions } from "../../components/github/workflows";
import { tempDir } from "./tempDir";

export interface GithubContext {
    secrets?: Record<string, string>;
    vars?: Record<string, string>;
    inputs?: Record<string, string>;
    github?: Record<string, string>;
}

export interface WorkflowStep {
    name: string;
    id?: string;
    env?: Record<string, string>;
    run: string;
}

/** The step `match` picks in `job` of the generated `file` (rollback.yml...). */
export function generatedStep(options: WorkflowOptions, file: string, job: string, match: (step: WorkflowStep) => boolean): WorkflowStep {
    const workflow = generateWorkflows(options).find((w) => w.path === `.github/workflows/${file}`);
    if (!workflow) throw new Error(`no ${file} among the generated workflows`);
    const steps: WorkflowStep[] = parse(workflow.content).jobs[job]?.steps ?? [];
    const step = steps.find(match);
    if (!step) throw new Error(`no such step in ${file}'s job ${job}: ${steps.map((s) => s.name).join(", ")}`);
    return step;
}

/** `${{ secrets.X }}`, `${{ vars.X }}`, `${{ inputs.X }}`, `${{ github.x }}` resolved; any other expression is an error here. */
export function resolveStepEnv(env: Record<string, string>, ctx: GithubContext): Record<string, string> {
    return Object.fromEntries(
        Object.entries(env).map(([name, value]) => [
            name,
            String(value).replace(/\$\{\{\s*([a-z]+)\.([A-Za-z0-9_-]+)\s*\}\}/g, (whole, scope: string, key: string) => {
                const table = (ctx as Record<string, Record<string, string> | undefined>)[scope];
                if (!["secrets", "vars", "inputs", "github"].includes(scope)) throw new Error(`${name}: ${whole} is not resolved here`);
                return table?.[key] ?? "";
            }),
        ]),
    );
}

export interface StepRun {
    status: number | null;
    text: string;
    /** RUNNER_TEMP, where steps keep their files. */
    runnerTemp: string;
    /** What the step wrote to GITHUB_OUTPUT (name=value lines). */
    outputs: Record<string, string>;
}

/**
 * Runs the step's script in `cwd` with bash as the runner does (`bash --noprofile --norc -eo pipefail`),
 * its resolved env over `base` (PATH, HOME...), and `fakes` (name -> script) first on PATH.
 */
export function runStepScript(
    step: WorkflowStep,
    ctx: GithubContext,
    o: { cwd: string; base: Record<string, string | undefined>; fakes?: Record<string, string> },
): Promise<StepRun> {
    const dir = tempDir("keel-runner-");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(o.fakes ?? {})) fs.writeFileSync(path.join(bin, name), body, { mode: 0o755 });
    const script = path.join(dir, "step.sh");
    fs.writeFileSync(script, step.run);
    const runnerTemp = path.join(dir, "tmp");
    fs.mkdirSync(runnerTemp);
    const env = {
        ...o.base,
        PATH: `${bin}${path.delimiter}${o.base.PATH ?? ""}`,
        RUNNER_TEMP: runnerTemp,
        GITHUB_STEP_SUMMARY: path.join(dir, "summary.md"),
        GITHUB_OUTPUT: path.join(dir, "output"),
        CI: "true",
        GITHUB_ACTIONS: "true",
        ...resolveStepEnv(step.env ?? {}, ctx),
    };
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
        cwd: o.cwd,
        env: Object.fromEntries(Object.entries(env).filter((e) => e[1] !== undefined)) as NodeJS.ProcessEnv,
        stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    const outputs = () =>
        Object.fromEntries(
            (fs.existsSync(env.GITHUB_OUTPUT) ? fs.readFileSync(env.GITHUB_OUTPUT, "utf8") : "")
                .split("\n")
                .filter((l) => l.includes("="))
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
    return new Promise((resolve) => child.on("close", (status) => resolve({ status, text, runnerTemp, outputs: outputs() })));
}
