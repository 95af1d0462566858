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
 * What runs is what the language host runs, @pulumi/pulumi's
 * cmd/run-policy-pack, on the pack built to dist/policies/ (tools/build.js,
 * which rebuilds what is stale first): run on the TypeScript sources, it would
 * type-check the pack and what it imports at every preview, seconds that are
 * CI's job (npm run typecheck). The working directory is this one, because
 * PolicyPack reads the pack's version from `<cwd>/package.json`;
 * @pulumi/pulumi and @pulumi/policy resolve from the repository's node_modules.
 */
"use strict";
const path = require("path");
const dir = __dirname;
const root = path.dirname(dir);
require(path.join(root, "tools", "build.js")).buildStale(root);
// The engine's own flags (logging, tracing) come first; its address is always last.
const engine = process.argv[process.argv.length - 1];
const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [dir] });
process.argv = [process.argv[0], runner, "--pwd", dir, engine, path.join(root, "dist", "policies", "index.js")];
require(runner);
