/**
 * hooks:install | hooks:uninstall — turns Keel's git hooks (`.githooks/`, committed)
 * on or off for this clone by setting or unsetting `core.hooksPath` in its own git
 * config. Nothing is copied into .git/hooks and nothing is installed from npm.
 * Both are idempotent and say what they did. Exits 0, 1 when it cannot (not a git
 * repository, another hooks path set), 2 on a usage error.
 *
 *   npm run hooks:install [-- --force]
 *   npm run hooks:uninstall
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../components/errors";
import { BYPASS } from "../components/precommit/index";

export const HOOKS_DIR = ".githooks";

export interface HooksIo {
    cwd: string;
    out(line: string): void;
}

export class HooksError extends KeelError {
    constructor(message: string) {
        super(message, "HooksError");
    }
}

function git(cwd: string, args: string[]): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A config value, or undefined when it is not set (git config exits 1). */
function configValue(cwd: string, scope: string[], key: string): string | undefined {
    try {
        return git(cwd, ["config", ...scope, "--get", key]);
    } catch (err: any) {
        if (err?.status === 1) return undefined;
        throw err;
    }
}

/** The top of the work tree, or a polite refusal outside one. */
function workTree(cwd: string, command: string): string {
    try {
        return git(cwd, ["rev-parse", "--show-toplevel"]);
    } catch (err: any) {
        const why = String(err?.stderr ?? err?.message ?? err)
            .trim()
            .split("\n")[0];
        throw new HooksError(
            `${cwd} is not inside a git work tree (${why}), so there is no git config to set core.hooksPath in. ` +
                `Run npm run ${command} in a clone of the repository (git clone …), or after git init.`,
        );
    }
}

/** True when a core.hooksPath value names the work tree's .githooks (as `.githooks`, `./.githooks/` or absolute). */
function isOurs(value: string | undefined, top: string): boolean {
    return value !== undefined && path.resolve(top, value) === path.join(top, HOOKS_DIR);
}

export interface HooksInstallOptions {
    /** Replace a core.hooksPath this repository already sets to another directory. */
    force?: boolean;
}

export function install(options: HooksInstallOptions, io: HooksIo): number {
    const top = workTree(io.cwd, "hooks:install");
    const hook = path.join(top, HOOKS_DIR, "pre-commit");
    if (!fs.existsSync(hook)) {
        throw new HooksError(
            `${hook} does not exist: hooks:install turns on the hooks committed in ${HOOKS_DIR}/ at the top of the repository ` +
                `(${top}). Is this Keel's repository, up to date?`,
        );
    }
    const local = configValue(top, ["--local"], "core.hooksPath");
    const effective = configValue(top, [], "core.hooksPath");
    if (isOurs(local, top)) {
        fixMode(hook, io);
        io.out(`already installed: core.hooksPath is ${local} in this repository's git config; nothing changed`);
        return 0;
    }
    if (local !== undefined && options.force !== true) {
        throw new HooksError(
            `this repository's git config already sets core.hooksPath to ${local} (other hooks live there); nothing changed. ` +
                `To use Keel's hooks instead, npm run hooks:install -- --force (the hooks in ${local} then no longer run).`,
        );
    }
    const gitHooks = path.resolve(top, git(top, ["rev-parse", "--git-common-dir"]), "hooks");
    fixMode(hook, io);
    git(top, ["config", "--local", "core.hooksPath", HOOKS_DIR]);
    io.out(
        `installed: git config --local core.hooksPath ${HOOKS_DIR}` +
            (local !== undefined
                ? ` (it was ${local})`
                : effective !== undefined
                  ? ` (overrides ${effective} from your global git config here)`
                  : "") +
            `. Every git commit in this clone (and its worktrees) now runs ${HOOKS_DIR}/pre-commit on what is staged; ` +
            `${BYPASS} skips it once, npm run hooks:uninstall turns it off.`,
    );
    const shadowed = fs.existsSync(gitHooks) ? fs.readdirSync(gitHooks).filter((n) => !n.endsWith(".sample")) : [];
    if (shadowed.length) {
        io.out(
            `note: git no longer runs the hooks in ${path.relative(top, gitHooks) || gitHooks} (${shadowed.join(", ")}); ` +
                `core.hooksPath replaces that directory. Move any you still want into ${HOOKS_DIR}/.`,
        );
    }
    return 0;
}

/** git runs only an executable hook (and says so only as a hint): make sure it is one. */
function fixMode(hook: string, io: HooksIo): void {
    const mode = fs.statSync(hook).mode;
    if ((mode & 0o111) === 0o111) return;
    fs.chmodSync(hook, mode | 0o111);
    io.out(`made ${path.relative(io.cwd, hook) || hook} executable (git skips a hook that is not)`);
}

export function uninstall(io: HooksIo): number {
    const top = workTree(io.cwd, "hooks:uninstall");
    const local = configValue(top, ["--local"], "core.hooksPath");
    if (local === undefined) {
        io.out("not installed: this repository's git config sets no core.hooksPath; nothing changed");
        return 0;
    }
    if (!isOurs(local, top)) {
        io.out(`core.hooksPath is ${local}, not Keel's ${HOOKS_DIR}: left as it is; nothing changed`);
        return 0;
    }
    git(top, ["config", "--local", "--unset", "core.hooksPath"]);
    io.out(
        `uninstalled: core.hooksPath (${local}) unset; git commit no longer runs ${HOOKS_DIR}/pre-commit. npm run hooks:install turns it back on.`,
    );
    return 0;
}
