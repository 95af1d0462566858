/**
 * Every operator command and benchmark, as npm runs it (package.json's scripts: `node
 * tools/build.js && node dist/scripts/<file>.js [<command>]`), as a process:
 * --help and -h print its usage on stdout and exit 0; a bogus option prints
 * the error and the usage on stderr and exits 2, before anything is read.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../support/migrationsDir";

/** The npm scripts that are operator commands: db:*, dev:*, schema:*, hooks:*, stack:new, preflight, rollback, drift, the engine commands, and the benchmarks. */
const OPERATOR = /^(db|dev|schema|hooks|bench|stack):|^(preflight|rollback|up|preview|refresh|destroy|drift)$/;
const SHAPE = /^node tools\/build\.js && node (dist\/(?:scripts|bench)\/[A-Za-z0-9]+\.js)((?: [a-z]+)*)$/;

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

function node(args: string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
        // No credentials and no DATABASE_URL: nothing past the command line may be needed.
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
        const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

describe("operator commands answer --help and refuse a wrong option", function () {
    this.timeout(300_000);
    const scripts: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts;
    const operators = Object.entries(scripts).filter(([name]) => OPERATOR.test(name));

    before(() => {
        // As each npm script does first.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(path.join(REPO_ROOT, "tools/build.js")).buildStale(REPO_ROOT);
    });

    it("covers the commands the issue names, each an npm script of the usual shape", () => {
        for (const name of [
            "db:backups",
            "db:backup",
            "db:restore",
            "db:drill",
            "db:reset",
            "db:url",
            "dev:start",
            "dev:stop",
            "dev:logs",
            "dev:seed",
            "dev:reset",
            "hooks:install",
            "hooks:uninstall",
            "schema:adopt",
            "preflight",
            "rollback",
            "stack:new",
            "drift",
            "schema:status",
            "schema:apply",
            "schema:new",
            "schema:resolve",
            "bench:engine",
            "bench:migrations",
            "bench:big-migration",
            "bench:backup",
            "bench:rollback",
            "bench:dev-reset",
        ]) {
            assert.ok(scripts[name], `package.json has no script ${name}`);
        }
        for (const [name, command] of operators) assert.match(command, SHAPE, `${name}: ${command}`);
    });

    it("--help and -h: the usage on stdout, exit 0; --bogus-option: the error and the usage on stderr, exit 2", async () => {
        const failures: string[] = [];
        const check = async ([name, command]: [string, string]) => {
            const [, file, sub] = SHAPE.exec(command)!;
            const argv = [path.join(REPO_ROOT, file), ...sub.split(" ").filter(Boolean)];
            const usage = `usage: npm run ${name}`;
            for (const flag of ["--help", "-h"]) {
                const r = await node([...argv, flag]);
                if (r.code !== 0 || !r.stdout.startsWith(usage) || !r.stdout.includes("-h, --help"))
                    failures.push(
                        `${name} ${flag}: exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}, stderr ${r.stderr.slice(0, 300)}`,
                    );
            }
            const bad = await node([...argv, "--bogus-option"]);
            const expected = `error: unknown option '--bogus-option'\n\n${usage}`;
            if (bad.code !== 2 || !bad.stderr.startsWith(expected) || bad.stdout !== "")
                failures.push(
                    `${name} --bogus-option: exit ${bad.code}, stderr ${JSON.stringify(bad.stderr.slice(0, 300))}, stdout ${bad.stdout.slice(0, 200)}`,
                );
        };
        // A few at a time: each is a Node process loading its modules.
        const queue = [...operators];
        await Promise.all(
            Array.from({ length: 6 }, async () => {
                for (let next = queue.shift(); next; next = queue.shift()) await check(next);
            }),
        );
        assert.deepEqual(failures, []);
    });
});
