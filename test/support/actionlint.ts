/**
 * actionlint, the version tools/actionlint/go.mod pins (npm run lint-tools:build builds it
 * into .keel/bin), with shellcheck on every `run:` script. actionlint leaves shellcheck out
 * without a word when it finds none, so both are looked up here and shellcheck is passed
 * explicitly. Without either the tests skip with one line; with CI=true they fail instead,
 * since CI installs both (.ci/run, the generated ci.yml).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findExecutable } from "../../tools/executable";
import { ROOT } from "./repoRoot";
import { tempDir } from "./tempDir";

export interface LintTools {
    actionlint: string;
    shellcheck: string;
}

/** One finding, as `actionlint -format '{{json .}}'` prints it. */
export interface Finding {
    message: string;
    filepath: string;
    line: number;
    column: number;
    kind: string;
}

/** The first executable `name` on PATH, then in the directories after it. */
function lookUp(name: string, pathVar: string | undefined, after: string[] = []): string | undefined {
    return findExecutable(name, [...(pathVar ?? "").split(path.delimiter), ...after]);
}

/** The pinned version: tools/actionlint/go.mod's requirement of github.com/rhysd/actionlint. */
export function pinnedActionlintVersion(): string {
    const goMod = fs.readFileSync(path.join(ROOT, "tools/actionlint/go.mod"), "utf8");
    const m = /^\s*github\.com\/rhysd\/actionlint (v\S+)/m.exec(goMod);
    if (!m) throw new Error("tools/actionlint/go.mod requires no github.com/rhysd/actionlint: git checkout tools/actionlint/go.mod");
    return m[1];
}

let found: LintTools | string | undefined;

/** actionlint at the pinned version and shellcheck, or why not. */
function findLintTools(): LintTools | string {
    if (found !== undefined) return found;
    const want = pinnedActionlintVersion();
    const actionlint = lookUp("actionlint", process.env.PATH, [path.join(ROOT, ".keel", "bin")]);
    const shellcheck = lookUp("shellcheck", process.env.PATH);
    const problems: string[] = [];
    if (!actionlint) {
        problems.push(`no actionlint on PATH or in .keel/bin (npm run lint-tools:build builds ${want})`);
    } else {
        const version = spawnSync(actionlint, ["-version"], { encoding: "utf8" }).stdout?.split("\n")[0];
        if (version !== want)
            problems.push(`${actionlint} is actionlint ${version || "(no version)"}, not ${want} (npm run lint-tools:build -- --force)`);
    }
    if (!shellcheck) problems.push("no shellcheck on PATH (apt-get install shellcheck)");
    found = problems.length > 0 ? problems.join("; ") : { actionlint: actionlint!, shellcheck: shellcheck! };
    return found;
}

/** The linters, or a skip (a failure under CI=true) saying what is missing. */
export function requireLintTools(ctx: Mocha.Context): LintTools {
    const tools = findLintTools();
    if (typeof tools !== "string") return tools;
    const why = `the workflow lint needs actionlint and shellcheck: ${tools}`;
    if (process.env.CI === "true") throw new Error(`CI=true: ${why}`);
    console.log(`    skip: ${why}`);
    ctx.skip();
}

/** Every finding of actionlint (shellcheck included) in the files, each given as its path in a repository and its text. */
export function actionlint(tools: LintTools, files: { path: string; content: string }[]): Finding[] {
    const dir = tempDir("keel-actionlint-");
    for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
        fs.writeFileSync(path.join(dir, f.path), f.content);
    }
    const res = spawnSync(
        tools.actionlint,
        ["-no-color", "-format", "{{json .}}", `-shellcheck=${tools.shellcheck}`, "-pyflakes=", ...files.map((f) => f.path)],
        { cwd: dir, encoding: "utf8", timeout: 120_000 },
    );
    // 0: nothing found, 1: findings; anything else is actionlint failing.
    if (res.status !== 0 && res.status !== 1) {
        throw new Error(`actionlint exited ${res.status ?? res.signal}: ${res.stderr || res.error?.message}`);
    }
    const out = res.stdout.trim();
    return out ? (JSON.parse(out) as Finding[]) : [];
}
