/**
 * The git a rollback needs: whether the repository has a commit, its subject,
 * whether its package-lock.json is the checkout's, and a temporary worktree
 * of it (removed afterwards, whatever happened) whose project directory has
 * packages to run with.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KeelError } from "../../components/errors";

export class GitError extends KeelError {
    constructor(message: string) {
        super(message, "GitError");
    }
}

function git(cwd: string, args: string[], input?: string): { ok: boolean; out: string; err: string } {
    const r = spawnSync("git", args, { cwd, encoding: "buffer", input, maxBuffer: 256 * 1024 * 1024 });
    if (r.error) throw new GitError(`git is needed to roll back (${r.error.message}): install git`);
    return { ok: r.status === 0, out: r.stdout.toString("utf8"), err: r.stderr.toString("utf8").trim() };
}

/** The project's place in its repository: the top level and the project's path below it ("" at the top). */
export function repositoryOf(root: string): { top: string; prefix: string } {
    const top = git(root, ["rev-parse", "--show-toplevel"]);
    if (!top.ok)
        throw new GitError(
            `${root} is not in a git repository: a rollback finds the target's code by its commit, so the project must be a git checkout`,
        );
    return { top: top.out.trim(), prefix: git(root, ["rev-parse", "--show-prefix"]).out.trim() };
}

export function hasCommit(root: string, commit: string): boolean {
    return git(root, ["cat-file", "-e", `${commit}^{commit}`]).ok;
}

/** Commit subjects by full hash, for the commits the repository has. */
export function commitSubjects(root: string, commits: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of new Set(commits)) {
        const r = git(root, ["log", "-1", "--format=%s", c]);
        if (r.ok) out[c] = r.out.trim();
    }
    return out;
}

/** A file of the project as the commit has it (undefined when the commit has no such file). */
export function fileAtCommit(root: string, commit: string, file: string): Buffer | undefined {
    const { prefix } = repositoryOf(root);
    const r = spawnSync("git", ["show", `${commit}:${prefix}${file}`], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
    return r.status === 0 ? r.stdout : undefined;
}

export function sameLockfile(root: string, commit: string): boolean {
    const then = fileAtCommit(root, commit, "package-lock.json");
    const now = fs.existsSync(path.join(root, "package-lock.json")) ? fs.readFileSync(path.join(root, "package-lock.json")) : undefined;
    return !!then && !!now && then.equals(now);
}

export interface Worktree {
    /** The project directory inside the worktree. */
    root: string;
    remove(): void;
}

/**
 * A detached worktree of `commit` in a temporary directory. Its project uses the
 * checkout's node_modules when the lockfile is the same; else `npm ci` runs
 * there (progress through `say`).
 */
export function addWorktree(root: string, commit: string, options: { reusePackages: boolean; say: (line: string) => void }): Worktree {
    const { prefix } = repositoryOf(root);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keel-rollback-"));
    const added = git(root, ["worktree", "add", "--detach", dir, commit]);
    if (!added.ok) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new GitError(`git worktree add ${commit.slice(0, 12)} failed: ${added.err}`);
    }
    const remove = () => {
        git(root, ["worktree", "remove", "--force", dir]);
        fs.rmSync(dir, { recursive: true, force: true });
        git(root, ["worktree", "prune"]);
    };
    const project = path.join(dir, prefix);
    try {
        if (options.reusePackages) {
            const mine = fs.realpathSync(path.join(root, "node_modules"));
            const theirs = path.join(project, "node_modules");
            // A checkout that commits a node_modules link has it already.
            if (!fs.existsSync(theirs) || fs.realpathSync(theirs) !== mine) {
                fs.rmSync(theirs, { recursive: true, force: true });
                fs.symlinkSync(mine, theirs, "dir");
            }
        } else {
            options.say(`installing the packages of ${commit.slice(0, 12)} (npm ci; its package-lock.json differs from this checkout's)`);
            const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: project, stdio: ["ignore", "inherit", "inherit"] });
            if (r.status !== 0)
                throw new GitError(`npm ci in the worktree of ${commit.slice(0, 12)} failed (exit ${r.status}); nothing was changed`);
        }
    } catch (err) {
        remove();
        throw err;
    }
    return { root: project, remove };
}

/** The checkout's branch; undefined when HEAD is detached or the project is not in a repository. */
export function currentGitBranch(root: string): string | undefined {
    try {
        const r = git(root, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
        return r.ok ? r.out.trim() || undefined : undefined;
    } catch {
        return undefined;
    }
}
