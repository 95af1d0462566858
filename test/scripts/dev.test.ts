/**
 * keel dev start|stop|logs (npm run dev:start, …) without the engine: the kind comes from
 * the stack file; a docker database is started and stopped through the docker
 * CLI (a fake one here), and where no Docker engine answers the command says
 * so in one line; external and neon databases are not Keel's to start; the log
 * is printed and followed. The local kind through the engine is test/e2e/local.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { followLog, localPaths } from "../../components/database/local/server";
import { DevCommand, DevOptions, runDevCommand } from "../../scripts/dev";
import { parseVerb } from "../support/keel";
import { tempDir } from "../support/tempDir";

/** A project with Pulumi.yaml and one stack file holding `database` as keel:database. */
function project(stack: string, database: Record<string, unknown>, extra = ""): string {
    const root = tempDir("keel-dev-cmd-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
    fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), `config:\n  keel:database: ${JSON.stringify(database)}\n${extra}`);
    return root;
}

/** A PATH whose `docker` runs this shell script (with "$@"), logging its arguments. */
function fakeDocker(script: string): { path: string; calls: () => string[] } {
    const dir = tempDir("keel-fake-docker-");
    const log = path.join(dir, "calls");
    fs.writeFileSync(path.join(dir, "docker"), `#!/bin/sh\necho "$*" >> ${log}\n${script}\n`, { mode: 0o755 });
    return {
        path: `${dir}${path.delimiter}/usr/bin${path.delimiter}/bin`,
        calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []),
    };
}

/** keel dev <command>'s options for argv, as its verb passes them to runDevCommand. */
async function devOptions(command: DevCommand, argv: string[]): Promise<DevOptions> {
    const { options } = await parseVerb(["dev", command], argv);
    return {
        stack: options.stack,
        ...(options.follow ? { follow: true } : {}),
        ...(options.lines !== undefined ? { lines: options.lines } : {}),
    };
}

async function run(command: DevCommand, argv: string[], root: string, env: Record<string, string | undefined>) {
    let out = "";
    let error: Error | undefined;
    let code: number | undefined;
    const ups: string[] = [];
    try {
        code = await runDevCommand(command, (await devOptions(command, argv)) as DevOptions, {
            root,
            env,
            out: (t) => void (out += t),
            up: async (stack) => void ups.push(stack),
        });
    } catch (err) {
        error = err as Error;
    }
    return { code, out, error, ups };
}

describe("npm run dev:start|dev:stop|dev:logs", () => {
    const DOCKER = { kind: "docker", docker: { image: "postgres:16.4-bookworm", port: 5433 } };

    it("docker: dev:start runs docker start on the stack's container and prints host, port and database", async () => {
        const docker = fakeDocker('[ "$1" = info ] && echo 27.3.1; exit 0');
        const r = await run("start", [], project("dev", DOCKER), { PATH: docker.path });
        assert.equal(r.error, undefined, String(r.error));
        assert.equal(r.code, 0);
        assert.deepEqual(docker.calls(), ["info --format {{.ServerVersion}}", "start shop-dev-postgres"]);
        assert.match(
            r.out,
            /^running: the dev stack's PostgreSQL in container shop-dev-postgres, on host 127\.0\.0\.1, port 5433, database app \(user app\)$/m,
        );
        const stop = await run("stop", ["--stack", "dev"], project("dev", DOCKER), { PATH: docker.path });
        assert.match(stop.out, /^stopped container shop-dev-postgres; the data is kept in the volume shop-dev-pgdata$/m);
    });

    it("docker: where no Docker engine answers, one clear line; without a docker command too", async () => {
        const down = fakeDocker(
            'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1',
        );
        const r = await run("start", [], project("dev", DOCKER), { PATH: down.path });
        assert.equal(
            r.error?.message,
            "no Docker engine answers (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?): start Docker, then run this again",
        );
        assert.deepEqual(down.calls(), ["info --format {{.ServerVersion}}"], "nothing else is tried");
        const none = await run("start", [], project("dev", DOCKER), { PATH: tempDir("keel-empty-path-") });
        assert.match(none.error!.message, /^no Docker engine answers: the docker command is not installed \(or not on PATH\)\./);
        assert.ok(!none.error!.message.includes("\n"));
    });

    it("docker: a container that does not exist yet is created with up on dev, and not elsewhere", async () => {
        const docker = fakeDocker(
            '[ "$1" = info ] && exit 0; [ -f "$(dirname "$0")/made" ] && exit 0; [ "$1" = start ] && echo "Error response from daemon: No such container: shop-dev-postgres" >&2 && exit 1; exit 0',
        );
        let made = false;
        const root = project("dev", DOCKER);
        let out = "";
        await runDevCommand("start", await devOptions("start", []), {
            root,
            env: { PATH: docker.path },
            out: (t) => void (out += t),
            up: async () => {
                made = true;
                fs.writeFileSync(path.join(docker.path.split(path.delimiter)[0], "made"), "");
            },
        });
        assert.ok(made);
        assert.match(out, /the dev stack has no container shop-dev-postgres yet: creating it with npm run up/);
        assert.match(out, /^running: /m);
        const missing = fakeDocker('[ "$1" = info ] && exit 0; echo "Error response from daemon: No such container: x" >&2; exit 1');
        const feature = await run("start", ["--stack", "feature"], project("feature", DOCKER, "  keel:stage: staging\n"), {
            PATH: missing.path,
        });
        assert.deepEqual(feature.ups, []);
        assert.match(
            feature.error!.message,
            /^there is no container shop-feature-postgres yet; create it with npm run up -- --stack feature$/,
        );
    });

    it("external and neon databases are not Keel's to start, stop or show", async () => {
        const root = project("dev", { kind: "external" });
        const r = await run("start", [], root, { DATABASE_URL: "postgres://me:pw@db.example.com:5432/app" });
        assert.match(
            r.error!.message,
            /^the dev stack's database is 'external': Keel does not run it on this machine, so there is nothing to start\. dev:start, dev:stop and dev:logs work on the kinds local and docker/,
        );
        assert.ok(!r.error!.message.includes("pw@"));
    });

    it("local: dev:stop and dev:logs on a stack with no database yet say so; dev:start off dev does not deploy the stack", async () => {
        const root = project("dev", { kind: "local", local: { port: 54999 } });
        const stop = await run("stop", [], root, {});
        assert.equal(stop.code, 0);
        assert.match(stop.out, /^the dev stack has no local database in \.keel\/dev\/dev\/pgdata: nothing to stop$/m);
        const logs = await run("logs", [], root, {});
        assert.match(
            logs.out,
            /^no server log yet at \.keel\/dev\/dev\/postgres\.log \(the dev stack's local database has not been started: npm run dev:start\)$/m,
        );
        const feature = project("feature", { kind: "local" }, "  keel:stage: staging\n");
        const start = await run("start", ["--stack", "feature"], feature, {});
        assert.deepEqual(start.ups, [], "no up of a non-dev stack from dev:start");
        assert.match(
            start.error!.message,
            /has no local database in \.keel\/dev\/feature\/pgdata yet; create it with npm run up -- --stack feature/,
        );
    });

    it("dev:logs prints the log or its last lines; -n takes a positive number", async () => {
        const root = project("dev", { kind: "local" });
        const p = localPaths(root, "dev");
        fs.mkdirSync(p.dir, { recursive: true });
        fs.writeFileSync(p.logFile, "one\ntwo\nthree\n");
        assert.equal((await run("logs", [], root, {})).out, "one\ntwo\nthree\n");
        assert.equal((await run("logs", ["-n", "2"], root, {})).out, "two\nthree\n");
        assert.match((await run("logs", ["-n", "0"], root, {})).error!.message, /--lines needs a positive number of lines, got '0'/);
    });

    it("following the log prints what is appended, from where it was, also after the file is truncated", async () => {
        const file = path.join(tempDir("keel-follow-"), "postgres.log");
        fs.writeFileSync(file, "before\n");
        const controller = new AbortController();
        let seen = "";
        let onSeen: () => void = () => undefined;
        const following = followLog(
            file,
            (t) => {
                seen += t;
                onSeen();
            },
            controller.signal,
            10,
        );
        const waitFor = (text: string) =>
            new Promise<void>((resolve) => {
                onSeen = () => seen.includes(text) && resolve();
                onSeen();
            });
        fs.appendFileSync(file, "LOG:  ready\n");
        await waitFor("ready");
        fs.writeFileSync(file, "rotated\n");
        await waitFor("rotated");
        controller.abort();
        await following;
        assert.equal(seen, "LOG:  ready\nrotated\n");
    });

    it("each command's usage: --help, a wrong option, an extra argument", async () => {
        for (const c of ["start", "stop", "logs"] as const) {
            await assert.rejects(parseVerb(["dev", c], ["--help"]), { exitCode: 0 });
            await assert.rejects(parseVerb(["dev", c], ["--nope"]), /unknown option '--nope'/);
            await assert.rejects(parseVerb(["dev", c], ["extra"]), /too many arguments/);
        }
        assert.deepEqual(await devOptions("logs", ["-f", "-n", "20"]), { stack: "dev", follow: true, lines: "20" });
    });
});
