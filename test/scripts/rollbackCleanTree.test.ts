/**
 * A rollback's update is recorded from a clean tree: the CLI sets git.dirty
 * when `git status --porcelain` prints anything in the worktree, and what the
 * rollback adds there (a node_modules link, which a `node_modules/` ignore
 * pattern does not match, the build, Keel's cache) is ignored through git's
 * GIT_CONFIG_* variables, never by a change to the user's repository.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cleanTreeGitConfig } from "../../scripts/rollback";
import { tempDir } from "../support/tempDir";

describe("rollback: the worktree stays clean for the CLI's git.dirty", () => {
    it("git status in a checkout with a node_modules link, dist/ and .keel/ prints nothing with the rollback's environment", () => {
        const repo = tempDir("keel-clean-tree-");
        const git = (args: string[], env: Record<string, string | undefined> = process.env) =>
            execFileSync("git", args, { cwd: repo, encoding: "utf8", env: env as NodeJS.ProcessEnv });
        git(["init", "-q"]);
        fs.writeFileSync(path.join(repo, ".gitignore"), "node_modules/\n");
        git(["add", "."]);
        git(["-c", "user.email=dev@example.com", "-c", "user.name=Dev", "commit", "-qm", "init"]);
        fs.symlinkSync(repo, path.join(repo, "node_modules"));
        fs.mkdirSync(path.join(repo, "dist"));
        fs.writeFileSync(path.join(repo, "dist", "index.js"), "");
        fs.mkdirSync(path.join(repo, ".keel", "cache"), { recursive: true });
        fs.writeFileSync(path.join(repo, ".keel", "cache", "x.json"), "{}");
        assert.notEqual(git(["status", "--porcelain"]), "", "without it, the link and the build are untracked");

        const scratch = tempDir("keel-clean-tree-scratch-");
        const env: Record<string, string | undefined> = {
            ...process.env,
            ...cleanTreeGitConfig(scratch, { GIT_CONFIG_COUNT: "1" }),
            GIT_CONFIG_KEY_0: "core.quotepath",
            GIT_CONFIG_VALUE_0: "off",
        };
        assert.equal(env.GIT_CONFIG_COUNT, "2", "a variable the user set is kept");
        assert.equal(git(["status", "--porcelain", "-z"], env), "");
        // A change to a committed file is still seen: only the rollback's own additions are ignored.
        fs.writeFileSync(path.join(repo, ".gitignore"), "node_modules/\nchanged\n");
        assert.notEqual(git(["status", "--porcelain", "-z"], env), "");
    });
});
