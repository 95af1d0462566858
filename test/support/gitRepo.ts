/**
 * A throwaway git repository for the hook tests: its own config (no system or
 * global config, no GIT_* variables from the caller), files written and staged
 * by the test, and git commands run as a developer runs them, hooks included.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { tempDir } from "./tempDir";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** The environment git and the hook run in: the caller's without GIT_*, an empty global config, node on PATH. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GIT_")) env[k] = v;
    const globalConfig = path.join(home, ".gitconfig");
    if (!fs.existsSync(globalConfig)) fs.writeFileSync(globalConfig, "");
    return {
        ...env,
        HOME: home,
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: globalConfig,
        GIT_AUTHOR_NAME: "Keel Test",
        GIT_AUTHOR_EMAIL: "test@keel.invalid",
        GIT_COMMITTER_NAME: "Keel Test",
        GIT_COMMITTER_EMAIL: "test@keel.invalid",
    };
}

export class GitRepo {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;

    /** A new repository on branch main; with `init: false`, a plain directory (not a repository). */
    constructor(options: { init?: boolean } = {}) {
        const base = tempDir("keel-git-");
        this.dir = path.join(base, "repo");
        fs.mkdirSync(this.dir);
        this.env = gitEnv(base);
        if (options.init !== false) this.git("init", "-q", "-b", "main");
    }

    /** Runs a command in the repository (or `cwd`, relative to it); never throws. */
    run(command: string, args: string[], cwd = "."): Run {
        const r = spawnSync(command, args, { cwd: path.resolve(this.dir, cwd), env: this.env, encoding: "utf8" });
        if (r.error) throw r.error;
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    /** Runs git; throws with its output when it fails. */
    git(...args: string[]): string {
        const r = this.run("git", args);
        if (r.code !== 0) throw new Error(`git ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
        return r.stdout;
    }

    /** Writes files (path relative to the repository -> text). */
    write(files: Record<string, string>): void {
        for (const [rel, text] of Object.entries(files)) {
            const file = path.join(this.dir, rel);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, text);
        }
    }

    /** Writes the files and stages them. */
    stage(files: Record<string, string>): void {
        this.write(files);
        this.git("add", "--", ...Object.keys(files));
    }

    /** `git commit -m <message> [args]`, hooks and all. */
    commit(message: string, ...args: string[]): Run {
        return this.run("git", ["commit", "-q", "-m", message, ...args]);
    }

    /** How many commits HEAD has (0 before the first). */
    commits(): number {
        const r = this.run("git", ["rev-list", "--count", "HEAD"]);
        return r.code === 0 ? Number(r.stdout.trim()) : 0;
    }

    /** Links `.githooks` to Keel's own, so the hook git runs is the committed script with Keel's code beside it. */
    linkKeelHooks(): void {
        fs.symlinkSync(path.join(ROOT, ".githooks"), path.join(this.dir, ".githooks"));
    }

    /** Runs the built keel (dist/cli/main.js) in the repository: `keel <noun> <args…>`. */
    keel(noun: string, args: string[] = []): Run {
        return this.run(process.execPath, [path.join(ROOT, "dist", "cli", "main.js"), noun, ...args]);
    }
}

/** Brings dist/ up to date (the hook builds too; the install commands run from dist/). */
export function buildKeel(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(path.join(ROOT, "tools/build.js")).buildStale(ROOT);
}
