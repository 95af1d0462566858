/**
 * The keel command tree as a whole: `keel --help` lists every noun, each noun's help its verbs,
 * every verb answers --help with 0 and an unknown option with 2 naming it (before anything is
 * read), and every npm script that is an operator command is an alias of an existing verb.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Command } from "@commander-js/extra-typings";
import { keelProgram } from "../../cli/main";
import { commandsIn } from "../../cli/reference";
import { keel, parseVerb, testContext } from "../support/keel";
import { REPO_ROOT } from "../support/migrationsDir";

const NOUNS = [
    "stack",
    "pr",
    "pulumi",
    "db",
    "schema",
    "dev",
    "rollback",
    "drift",
    "metrics",
    "preflight",
    "hooks",
    "deploy",
    "monitor",
    "issue",
    "release",
    "bench",
    "completion",
];

/** The flags a verb requires, each with a stand-in value (so that an unknown option is what the parser meets first). */
function requiredFlags(verb: string[]): string[] {
    let c = keelProgram(testContext(REPO_ROOT)) as Command<any, any, any>;
    for (const name of verb) c = c.commands.find((x) => x.name() === name) as Command<any, any, any>;
    return c.options.filter((o) => o.mandatory).flatMap((o) => [o.long!, "1"]);
}

/** Every path from the root to a command that runs (a verb, or a noun that is its own verb), from the tree itself. */
function verbs(): string[][] {
    // A noun with verbs that also runs on its own (keel rollback, keel rollback drill) is one of them.
    return commandsIn(keelProgram(testContext(REPO_ROOT))).map(({ name }) => name.split(" ").slice(1));
}

/** The npm scripts package.json keeps as they were (not aliases of a verb). */
const NOT_ALIASES = new Set([
    "build",
    "keel",
    "prepare",
    "test",
    "lint",
    "format",
    "format:check",
    "typecheck",
    "pulumi:build",
    "lint-tools:build",
    "stores:build",
    "docs",
    "docs:check",
]);

describe("keel: the command tree", () => {
    it("keel --help lists every noun; exit 0", async () => {
        const r = await keel(["--help"], REPO_ROOT);
        assert.equal(r.code, 0, r.err);
        for (const noun of NOUNS) assert.match(r.out, new RegExp(`^  ${noun}\\b`, "m"), noun);
        // Every verb too, under its noun: keel --help names every command there is.
        for (const verb of verbs()) {
            const [noun, name] = verb;
            const line = new RegExp(`^  keel ${noun}(?: (\\S+))?$`, "m").exec(r.out);
            assert.ok(line, `no line for ${noun}`);
            if (name) assert.ok(line[1]?.split("|").includes(name), `keel ${verb.join(" ")}`);
        }
        assert.deepEqual(
            keelProgram(testContext(REPO_ROOT)).commands.map((c) => c.name()),
            NOUNS,
            "the nouns listed here are the tree's",
        );
    });

    it("each noun's help lists its verbs; a bare noun prints it on stderr with exit 2", async () => {
        const program = keelProgram(testContext(REPO_ROOT));
        for (const noun of program.commands.filter((c) => c.commands.length)) {
            const r = await keel([noun.name(), "--help"], REPO_ROOT);
            assert.equal(r.code, 0, `${noun.name()}: ${r.err}`);
            for (const verb of noun.commands) assert.match(r.out, new RegExp(`^  ${verb.name()}\\b`, "m"), `${noun.name()} ${verb.name()}`);
            const bare = await keel([noun.name()], REPO_ROOT);
            assert.equal(bare.code, 2, noun.name());
            assert.match(bare.err, /Usage: keel /);
        }
    });

    it("every verb answers --help and -h with its usage and exit 0, and an unknown option with exit 2 naming it", async () => {
        const all = verbs();
        assert.ok(all.length >= 37, `${all.length} verbs`);
        for (const verb of all) {
            const name = verb.join(" ");
            // keel pulumi passes every argument to Pulumi's CLI: its own usage answers --help, and it has no options to refuse.
            if (name === "pulumi") continue;
            for (const flag of ["--help", "-h"]) {
                const r = await keel([...verb, flag], REPO_ROOT);
                assert.equal(r.code, 0, `${name} ${flag}: ${r.err}`);
                assert.ok(r.out.startsWith(`Usage: keel ${name} `), `${name} ${flag}: ${r.out.slice(0, 100)}`);
            }
            const bad = await keel([...verb, ...requiredFlags(verb), "--bogus-option"], REPO_ROOT, {});
            assert.equal(bad.code, 2, `${name} --bogus-option: ${bad.err}`);
            assert.ok(bad.err.startsWith("error: unknown option '--bogus-option'"), `${name}: ${bad.err.slice(0, 200)}`);
            assert.equal(bad.out, "", name);
        }
        const pulumi = await keel(["pulumi", "--help"], REPO_ROOT);
        assert.equal(pulumi.code, 0);
        assert.match(pulumi.out, /^usage: keel pulumi <pulumi arguments>/);
    });

    it("the benchmarks' options: positive numbers with their defaults, --no-10k, --backend's choices", async () => {
        assert.deepEqual((await parseVerb(["bench", "migrations"], [])).options, { runs: 3, count: 1000, bigCount: 10000, "10k": true });
        assert.deepEqual((await parseVerb(["bench", "migrations"], ["--no-10k", "--runs", "2", "--disk"])).options, {
            runs: 2,
            count: 1000,
            bigCount: 10000,
            "10k": false,
            disk: true,
        });
        assert.equal((await parseVerb(["bench", "big-migration"], ["--mb", "0.5"])).options.mb, 0.5);
        assert.deepEqual((await parseVerb(["bench", "mask"], [])).options, { mb: 1024, runs: 3 });
        for (const [verb, argv, message] of [
            ["migrations", ["--runs", "0"], /--runs <n>' argument '0' is invalid\. expects a positive whole number/],
            ["engine", ["--tables", "1.5"], /--tables <n>' argument '1\.5' is invalid/],
            ["rollback", ["--backend", "ftp"], /Allowed choices are file, s3/],
        ] as const) {
            const r = await keel(["bench", verb, ...argv], REPO_ROOT);
            assert.equal(r.code, 2, `${verb}: ${r.err}`);
            assert.match(r.err, message);
        }
    });

    it("every npm script of an operator command is `node keel <noun> [<verb>]` naming an existing verb", () => {
        const scripts: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts;
        const known = new Set(verbs().map((v) => v.join(" ")));
        const aliases = Object.entries(scripts).filter(([name]) => !NOT_ALIASES.has(name));
        assert.ok(aliases.length >= 34, `${aliases.length} aliases`);
        for (const [name, command] of aliases) {
            const m = /^node keel ([a-z-]+(?: [a-z-]+)?)$/.exec(command);
            assert.ok(m, `${name}: ${command}`);
            assert.ok(known.has(m[1]), `${name}: keel ${m[1]} is no verb`);
        }
        for (const name of [
            "up",
            "preview",
            "refresh",
            "destroy",
            "pulumi",
            "stack:new",
            "db:url",
            "db:reset",
            "db:copy",
            "db:mask-check",
            "db:mask-init",
            "db:backups",
            "db:backup",
            "db:restore",
            "db:drill",
            "dev:start",
            "dev:stop",
            "dev:logs",
            "dev:seed",
            "dev:reset",
            "schema:status",
            "schema:apply",
            "schema:new",
            "schema:resolve",
            "schema:adopt",
            "schema:diff",
            "rollback",
            "drift",
            "metrics",
            "preflight",
            "hooks:install",
            "hooks:uninstall",
            "bench:migrations",
            "bench:big-migration",
            "bench:backup",
            "bench:mask",
            "bench:engine",
            "bench:rollback",
            "bench:dev-reset",
            "bench:metrics",
            "pr:comment",
            "bench:previews",
        ])
            assert.ok(scripts[name], `package.json has no script ${name}`);
        assert.equal(scripts.keel, "node keel");
    });

    it("the launcher as npm runs it: ./keel brings dist/ up to date; a usage error is exit 2, --help exit 0, before anything is read", () => {
        // No credentials and no DATABASE_URL: nothing past the command line may be needed.
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
        const run = (...args: string[]) =>
            spawnSync(process.execPath, [path.join(REPO_ROOT, "keel"), ...args], { cwd: REPO_ROOT, env, encoding: "utf8" });
        const help = run("db", "url", "--help");
        assert.equal(help.status, 0, help.stderr);
        assert.match(help.stdout, /^Usage: keel db url \[options\]/);
        const bad = run("up");
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /^error: unknown command 'up'/m);
        const positional = run("stack", "up", "prod", "--stack", "dev");
        assert.equal(positional.status, 2);
        assert.match(positional.stderr, /give the stack once/);
    });
});
