/**
 * What the engine commands (npm run up|preview|refresh|destroy|pulumi) decide
 * before the engine runs: which CLI, which backend and passphrase, which stack,
 * and how a command line is read.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import fc from "fast-check";
import * as path from "path";
import { CommandSpec, parseCommandLine, usageText } from "../../scripts/lib/cli";
import { engineEnv, stackFileStage, stateBackend } from "../../scripts/lib/engine";
import { findPulumiCli, pulumiCandidates, requirePulumiCli } from "../../scripts/lib/pulumiCli";
import { pulumiPassthrough, stackArgument } from "../../scripts/pulumi";
import { tempDir } from "../support/tempDir";

/** A directory holding a `pulumi` that prints `version` (or fails like npm's launcher offline). */
function fakeCli(version: string | undefined, dir = tempDir("keel-fake-cli-")): string {
    const body = version ? `[ "$1" = version ] && echo ${version} && exit 0\nexit 3` : `echo "pulumi: fetch failed" >&2\nexit 1`;
    fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return dir;
}

const SPEC: CommandSpec = {
    usage: "npm run thing -- [<stack>] [options]",
    summary: "Does the thing.",
    maxPositionals: 1,
    options: [
        { name: "stack", short: "s", value: "<stack>", help: "the stack" },
        { name: "message", short: "m", value: "<text>", help: "a message" },
        { name: "yes", short: "y", help: "go ahead" },
        { name: "refresh", help: "refresh first" },
    ],
};

describe("engine commands", () => {
    describe("finding a working Pulumi CLI", () => {
        it("asks PATH in order but npm's launcher last, after .keel/bin", () => {
            const root = "/project";
            const list = pulumiCandidates(
                root,
                ["/project/node_modules/.bin", "/usr/local/bin", "/home/me/.pulumi/bin"].join(path.delimiter),
            );
            assert.deepEqual(list, [
                "/usr/local/bin/pulumi",
                "/home/me/.pulumi/bin/pulumi",
                "/project/.keel/bin/pulumi",
                "/project/node_modules/.bin/pulumi",
            ]);
        });

        it("skips a launcher that cannot fetch and takes the first that answers `pulumi version`", () => {
            const root = tempDir("keel-root-");
            const launcherDir = path.join(root, "node_modules", ".bin");
            fs.mkdirSync(launcherDir, { recursive: true });
            const launcher = fakeCli(undefined, launcherDir);
            const broken = fakeCli(undefined);
            const good = fakeCli("v3.276.0");
            const later = fakeCli("v3.1.0");
            const cli = findPulumiCli(root, { PATH: [launcher, broken, good, later].join(path.delimiter) });
            assert.deepEqual(cli, { version: "v3.276.0", bin: path.join(good, "pulumi") });
        });

        it("says how to get one, in one line, when none answers", () => {
            const root = tempDir("keel-root-");
            assert.throws(
                () => requirePulumiCli(root, { PATH: fakeCli(undefined) }),
                (e: Error) =>
                    e.name === "PulumiCliMissingError" &&
                    !e.message.includes("\n") &&
                    /get\.pulumi\.com/.test(e.message) &&
                    /npm run pulumi:build/.test(e.message),
            );
        });

        it("names the pinned version in the install command when the project pins one", () => {
            const root = tempDir("keel-root-");
            fs.mkdirSync(path.join(root, "tools", "pulumi"), { recursive: true });
            fs.writeFileSync(
                path.join(root, "tools", "pulumi", "go.mod"),
                "module x\n\nrequire github.com/pulumi/pulumi/pkg/v3 v3.250.1\n",
            );
            assert.throws(
                () => requirePulumiCli(root, { PATH: fakeCli(undefined) }),
                (e: Error) =>
                    e.message.includes("curl -fsSL https://get.pulumi.com | sh -s -- --version 3.250.1") && !e.message.includes("\n"),
            );
        });
    });

    describe("backend and passphrase", () => {
        const root = tempDir("keel-root-");
        fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), "config: {}\n");
        fs.writeFileSync(path.join(root, "Pulumi.benchdev.yaml"), "config:\n  keel:stage: dev\n");
        fs.writeFileSync(path.join(root, "Pulumi.prod.yaml"), "config: {}\n");
        const cli = { version: "v3.276.0", bin: "/opt/pulumi/bin/pulumi" };

        it("uses the project's file state unless PULUMI_BACKEND_URL says otherwise, and never logs in", () => {
            assert.equal(stateBackend(root, {}), `file://${path.join(root, ".pulumi-state")}`);
            assert.equal(stateBackend(root, { PULUMI_BACKEND_URL: "s3://bucket" }), "s3://bucket");
            assert.equal(engineEnv(root, "dev", cli, {}).PULUMI_BACKEND_URL, `file://${path.join(root, ".pulumi-state")}`);
        });

        it("supplies dev's empty passphrase (by the stack's stage), and asks for one elsewhere", () => {
            assert.equal(engineEnv(root, "dev", cli, {}).PULUMI_CONFIG_PASSPHRASE, "");
            assert.equal(stackFileStage(root, "benchdev"), "dev");
            assert.equal(stackFileStage(root, "no-such-stack"), undefined, "no stack file and no stage in the name");
            fs.writeFileSync(path.join(root, "Pulumi.qa.yaml"), "config:\n  keel:stage: stagin\n");
            assert.throws(
                () => engineEnv(root, "qa", cli, {}),
                /keel:stage in Pulumi\.qa\.yaml is 'stagin', which is not a stage: set it to dev, staging or prod/,
            );
            assert.equal(engineEnv(root, "benchdev", cli, {}).PULUMI_CONFIG_PASSPHRASE, "");
            assert.throws(() => engineEnv(root, "prod", cli, {}), /export PULUMI_CONFIG_PASSPHRASE/);
            assert.equal(engineEnv(root, "prod", cli, { PULUMI_CONFIG_PASSPHRASE: "s3cret" }).PULUMI_CONFIG_PASSPHRASE, "s3cret");
            // Pulumi Cloud encrypts with its own keys.
            assert.equal(
                engineEnv(root, "prod", cli, { PULUMI_BACKEND_URL: "https://api.pulumi.com" }).PULUMI_CONFIG_PASSPHRASE,
                undefined,
            );
        });

        it("puts the CLI's directory first on PATH, where the plugin shims are", () => {
            assert.equal(engineEnv(root, "dev", cli, { PATH: "/usr/bin" }).PATH, `/opt/pulumi/bin${path.delimiter}/usr/bin`);
        });
    });

    describe("npm run pulumi", () => {
        const root = tempDir("keel-root-");
        fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), "config: {}\n");
        const env = { PATH: fakeCli("v3.276.0") };

        it("selects dev unless the arguments name a stack", () => {
            assert.equal(stackArgument(["stack", "output", "--stack", "prod"]), "prod");
            assert.equal(stackArgument(["stack", "output", "-s", "staging"]), "staging");
            assert.equal(stackArgument(["stack", "output", "--stack=qa"]), "qa");
            assert.equal(stackArgument(["stack", "output", "databaseUrl"]), undefined);
            const run = pulumiPassthrough(["stack", "output", "databaseUrl", "--show-secrets"], root, env);
            assert.ok("bin" in run);
            assert.equal(run.env.PULUMI_STACK, "dev");
            assert.equal(run.env.PULUMI_CONFIG_PASSPHRASE, "");
            assert.equal(run.createStack, undefined);
        });

        it("creates a stack that has a stack file before setting its config", () => {
            const run = pulumiPassthrough(["config", "set", "keel:x", "1"], root, env);
            assert.ok("bin" in run && run.createStack === "dev");
        });

        it("sends `stack init` to npm run stack:new, which writes the stack file and picks the passphrase", () => {
            const run = pulumiPassthrough(["stack", "init", "ext"], root, env);
            assert.ok("error" in run && run.code === 2 && run.error.includes("npm run stack:new -- <name> --stage <dev|staging|prod>"));
        });

        it("sends commands that run the program to npm run up and the others", () => {
            for (const [given, npm] of [
                ["up", "up"],
                ["update", "up"],
                ["preview", "preview"],
                ["destroy", "destroy"],
                ["refresh", "refresh"],
            ]) {
                const run = pulumiPassthrough([given, "--yes"], root, env);
                assert.ok("error" in run && run.code === 2 && run.error.includes(`npm run ${npm} -- <stack>`), given);
            }
            const help = pulumiPassthrough(["--help"], root, env);
            assert.ok("error" in help && help.code === 0 && help.error.startsWith("usage: npm run pulumi"));
        });
    });

    describe("command lines", () => {
        it("reads back any options written in either form, in any order", () => {
            const word = fc.stringMatching(/^[a-z0-9][a-z0-9 _.-]{0,11}$/);
            fc.assert(
                fc.property(
                    fc.record({
                        stack: fc.option(word, { nil: undefined }),
                        message: fc.option(word, { nil: undefined }),
                        yes: fc.boolean(),
                        refresh: fc.boolean(),
                    }),
                    fc.boolean(),
                    (o, inline) => {
                        const argv: string[] = [];
                        if (o.stack !== undefined) argv.push(...(inline ? [`--stack=${o.stack}`] : ["-s", o.stack]));
                        if (o.yes) argv.push(inline ? "--yes" : "-y");
                        if (o.message !== undefined) argv.push(...(inline ? [`--message=${o.message}`] : ["--message", o.message]));
                        if (o.refresh) argv.push("--refresh");
                        const parsed = parseCommandLine(argv, SPEC);
                        assert.equal(parsed.options.stack, o.stack);
                        assert.equal(parsed.options.message, o.message);
                        assert.equal(parsed.options.yes, o.yes ? true : undefined);
                        assert.equal(parsed.options.refresh, o.refresh ? true : undefined);
                        assert.deepEqual(parsed.positionals, []);
                    },
                ),
            );
        });

        it("refuses unknown options, missing values, values on flags and extra arguments, by name", () => {
            assert.throws(() => parseCommandLine(["--nope"], SPEC), /unknown option '--nope'/);
            assert.throws(() => parseCommandLine(["-q"], SPEC), /unknown option '-q'/);
            assert.throws(() => parseCommandLine(["--stack"], SPEC), /--stack needs a value <stack>/);
            assert.throws(() => parseCommandLine(["--stack", "--yes"], SPEC), /--stack needs a value/);
            assert.throws(() => parseCommandLine(["--yes=no"], SPEC), /--yes takes no value/);
            assert.throws(() => parseCommandLine(["dev", "prod"], SPEC), /unexpected argument 'prod'/);
            assert.deepEqual(parseCommandLine(["prod", "-h"], SPEC), { options: {}, values: {}, positionals: ["prod"], help: true });
        });

        it("keeps every value of a repeatable option, in order (options keeps the last)", () => {
            const spec: CommandSpec = {
                ...SPEC,
                options: [{ name: "stack", short: "s", value: "<stack>", help: "a stack", repeatable: true }],
            };
            const parsed = parseCommandLine(["--stack", "dev", "-s", "prod", "--stack=staging"], spec);
            assert.deepEqual(parsed.values, { stack: ["dev", "prod", "staging"] });
            assert.equal(parsed.options.stack, "staging");
            assert.match(usageText(spec), /--stack <stack> +a stack \(repeatable\)/);
        });

        it("lists every option in the usage", () => {
            const text = usageText(SPEC);
            for (const o of SPEC.options) assert.ok(text.includes(`--${o.name}`), o.name);
            assert.match(text, /-h, --help/);
        });
    });
});
