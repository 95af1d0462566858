/**
 * What the engine commands (npm run up|preview|refresh|destroy|pulumi) decide
 * before the engine runs: which CLI, which backend and passphrase, which stack,
 * and how a command line is read.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import fc from "fast-check";
import * as path from "path";
import { engineEnv, stackFileStage, stateBackend } from "../../scripts/lib/engine";
import { findPulumiCli, pulumiCandidates, requirePulumiCli } from "../../scripts/lib/pulumiCli";
import { pulumiPassthrough, stackArgument } from "../../scripts/pulumi";
import { keel, parseVerb } from "../support/keel";
import { tempDir } from "../support/tempDir";

/** A directory holding a `pulumi` that prints `version` (or fails like npm's launcher offline). */
function fakeCli(version: string | undefined, dir = tempDir("keel-fake-cli-")): string {
    const body = version ? `[ "$1" = version ] && echo ${version} && exit 0\nexit 3` : `echo "pulumi: fetch failed" >&2\nexit 1`;
    fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return dir;
}

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
            // A mistyped stack name is named as such, not sent looking for a passphrase.
            assert.throws(
                () => engineEnv(root, "prdo", cli, {}),
                /^StackAccessError: there is no Pulumi\.prdo\.yaml here, so no prdo stack: the stacks are benchdev, dev, prod, qa \(to add one: \.\/keel stack new prdo/,
            );
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
            assert.ok("error" in help && help.code === 0 && help.error.startsWith("usage: keel pulumi"));
        });
    });

    describe("command lines (keel stack up, as npm run up passes it)", () => {
        it("reads back any options written in either form, in any order", async () => {
            const word = fc.stringMatching(/^[a-z0-9][a-z0-9 _.-]{0,11}$/);
            await fc.assert(
                fc.asyncProperty(
                    fc.record({
                        stack: fc.option(word, { nil: undefined }),
                        message: fc.option(word, { nil: undefined }),
                        yes: fc.boolean(),
                        refresh: fc.boolean(),
                    }),
                    fc.boolean(),
                    async (o, inline) => {
                        const argv: string[] = [];
                        if (o.stack !== undefined) argv.push(...(inline ? [`--stack=${o.stack}`] : ["-s", o.stack]));
                        if (o.yes) argv.push(inline ? "--yes" : "-y");
                        if (o.message !== undefined) argv.push(...(inline ? [`--message=${o.message}`] : ["--message", o.message]));
                        if (o.refresh) argv.push("--refresh");
                        const { args, options } = await parseVerb(["stack", "up"], argv);
                        assert.equal(options.stack, o.stack);
                        assert.equal(options.message, o.message);
                        assert.equal(options.yes, o.yes ? true : undefined);
                        assert.equal(options.refresh, o.refresh ? true : undefined);
                        assert.deepEqual(args, [undefined]);
                    },
                ),
                { numRuns: 50 },
            );
        });

        it("takes the stack as its argument (npm run up -- prod), and refuses unknown options, missing values, values on flags and extra arguments, by name", async () => {
            assert.deepEqual((await parseVerb(["stack", "up"], ["prod", "--yes"])).args, ["prod"]);
            await assert.rejects(parseVerb(["stack", "up"], ["--nope"]), /unknown option '--nope'/);
            await assert.rejects(parseVerb(["stack", "up"], ["-q"]), /unknown option '-q'/);
            await assert.rejects(parseVerb(["stack", "up"], ["--stack"]), /option '-s, --stack <stack>' argument missing/);
            await assert.rejects(parseVerb(["stack", "up"], ["--yes=no"]), /unknown option '--yes=no'/);
            await assert.rejects(parseVerb(["stack", "up"], ["dev", "prod"]), /too many arguments/);
            await assert.rejects(parseVerb(["stack", "up"], ["prod", "-h"]), { exitCode: 0 });
            // Both forms at once is a usage error (exit 2), as it was.
            const both = await keel(["stack", "up", "prod", "--stack", "dev"], tempDir("keel-root-"));
            assert.equal(both.code, 2);
            assert.match(both.err, /give the stack once: as the argument or with --stack/);
        });

        it("keeps every value of a repeatable option, in order (keel drift --stack)", async () => {
            const { args, options } = await parseVerb(["drift"], ["--stack", "dev", "-s", "prod", "--stack=staging"]);
            assert.deepEqual(options.stack, ["dev", "prod", "staging"]);
            assert.deepEqual(args, [[]]);
            assert.match(
                (await keel(["drift", "--help"])).out,
                /-s, --stack <stack> +a stack to check \(repeatable\) \(default: every\s+Pulumi\.<stack>\.yaml\)/,
            );
        });

        it("lists every option in the usage", async () => {
            const help = (await keel(["stack", "refresh", "--help"])).out;
            for (const flag of ["--stack", "--yes", "--message", "--expect-no-changes", "--refresh", "--policy-pack", "--skip-program"])
                assert.ok(help.includes(flag), flag);
            assert.match(help, /-h, --help/);
            assert.doesNotMatch((await keel(["stack", "up", "--help"])).out, /--skip-program/);
        });
    });
});
