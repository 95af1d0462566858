#!/usr/bin/env node
/**
 * Keel's policy pack as an analyzer plugin the engine starts by itself: the
 * path given to `--policy-pack` (and to `policyPacks` in the Automation API),
 * as `npm run up|preview` does (scripts/lib/engine.ts policyPackPath).
 *
 * Why a file and not the directory: for a directory the Pulumi CLI (v3.276)
 * reads PulumiPolicy.yaml's runtime and starts the pack through that
 * language's host, pulumi-language-nodejs; where none is installed (Keel's own
 * CLI from `npm run pulumi:build` comes without one) it tries to download it
 * and fails. The old fallback to a `pulumi-analyzer-policy-nodejs` plugin on
 * PATH is gone from the engine. An executable file, though, the engine runs
 * as it is, with its address as the last argument, and still reads
 * PulumiPolicy.yaml beside it.
 *
 * What runs is what the language host runs: @pulumi/pulumi's
 * cmd/run-policy-pack, which registers ts-node itself (type-checking, with
 * the compiler options of the working directory's tsconfig.json) and requires
 * the pack. The working directory is this one, because PolicyPack reads the
 * pack's version from `<cwd>/package.json`; @pulumi/pulumi, @pulumi/policy,
 * ts-node and typescript resolve from the repository's node_modules.
 */
"use strict";
const dir = __dirname;
// The engine's own flags (logging, tracing) come first; its address is always last.
const engine = process.argv[process.argv.length - 1];
const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [dir] });
process.argv = [process.argv[0], runner, "--pwd", dir, engine, dir];
require(runner);
