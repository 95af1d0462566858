#!/usr/bin/env node
/**
 * Keel's build: every TypeScript source transpiled to dist/ file by file, and only
 * the files whose source is newer than their output (type checking is CI's job:
 * `npm run typecheck`; tsconfig's isolatedModules keeps every file transpilable on
 * its own). Outputs whose source is gone are removed, so nothing stale can be loaded.
 *
 * Plain JavaScript on purpose: the npm scripts, the engine's dynamic-provider
 * process and the tests call it before they load dist/, so it cannot itself need
 * a build.
 *
 *   node tools/build.js            build what is stale
 *   node tools/build.js --clean    rebuild everything
 */
"use strict";
const fs = require("fs");
const path = require("path");

/**
 * What the program, the command line, the operator scripts, the benchmarks and
 * tools/*.ts (what tests and benchmarks share: servers, the PostgreSQL cluster,
 * fakes, workspaces) are made of. Tests run under ts-node and are not built.
 */
const SOURCES = ["index.ts", "cli", "components", "policies", "scripts", "bench", "tools"];
const OUT = "dist";

function sourcesIn(root) {
    const files = [];
    const walk = (rel) => {
        const abs = path.join(root, rel);
        let stat;
        try {
            stat = fs.statSync(abs);
        } catch {
            return;
        }
        if (stat.isDirectory()) {
            for (const entry of fs.readdirSync(abs)) walk(path.join(rel, entry));
        } else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts") && !rel.endsWith(".test.ts")) {
            files.push({ rel, mtimeMs: stat.mtimeMs });
        }
    };
    for (const s of SOURCES) walk(s);
    return files;
}

function outputOf(rel) {
    return path.join(OUT, rel.replace(/\.ts$/, ".js"));
}

function compilerOptions(root, ts) {
    const configFile = path.join(root, "tsconfig.json");
    const { config, error } = ts.readConfigFile(configFile, ts.sys.readFile);
    if (error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(error.messageText, "\n")}`);
    const parsed = ts.convertCompilerOptionsFromJson(config.compilerOptions ?? {}, root, configFile);
    return { ...parsed.options, sourceMap: false, inlineSourceMap: true, inlineSources: false, declaration: false, noEmit: false };
}

/** Writes a file atomically: a dynamic-provider process may be loading dist/ at the same time. */
function writeAtomic(file, text) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
}

/**
 * Brings dist/ up to date with the sources under `root`; returns what it did.
 * Cheap when nothing changed: one stat per source and per output.
 */
function buildStale(root, { clean = false } = {}) {
    const started = Date.now();
    // A copy of the project may link dist/ to the real one: build (and sweep) the sources that dist/ belongs to.
    try {
        root = path.dirname(fs.realpathSync(path.join(root, OUT)));
    } catch {
        // No dist/ yet: it is made here.
    }
    const sources = sourcesIn(root);
    const stale = sources.filter((s) => {
        if (clean) return true;
        try {
            return fs.statSync(path.join(root, outputOf(s.rel))).mtimeMs < s.mtimeMs;
        } catch {
            return true;
        }
    });
    let ts;
    let options;
    for (const s of stale) {
        ts ??= require(require.resolve("typescript", { paths: [root] }));
        options ??= compilerOptions(root, ts);
        const fileName = path.join(root, s.rel);
        const out = ts.transpileModule(fs.readFileSync(fileName, "utf8"), { compilerOptions: options, fileName, reportDiagnostics: true });
        const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
        if (errors.length) {
            throw new Error(`${s.rel}: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("; ")}`);
        }
        writeAtomic(path.join(root, outputOf(s.rel)), out.outputText);
    }
    // Outputs of deleted sources would still load: remove them.
    const expected = new Set(sources.map((s) => path.join(root, outputOf(s.rel))));
    const removed = [];
    const sweep = (dir) => {
        let entries;
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            const abs = path.join(dir, e.name);
            if (e.isDirectory()) sweep(abs);
            else if (e.name.endsWith(".js") && !expected.has(abs)) {
                fs.rmSync(abs);
                removed.push(path.relative(root, abs));
            }
        }
    };
    sweep(path.join(root, OUT));
    return { built: stale.map((s) => s.rel), removed, ms: Date.now() - started };
}

/** The project root a dynamic-provider process works in (the engine starts plugins there). */
function projectRoot() {
    return process.cwd();
}

let fresh = false;

/**
 * Loads one of Keel's modules by its id (`components/schema/provider`): the
 * TypeScript source where this process can load it (tests run under ts-node),
 * else the built file, rebuilt first when its source is newer.
 */
function load(moduleId) {
    const root = projectRoot();
    if (require.extensions[".ts"]) return require(path.join(root, `${moduleId}.ts`));
    if (!fresh) {
        buildStale(root);
        fresh = true;
    }
    return require(path.join(root, OUT, `${moduleId}.js`));
}

module.exports = { buildStale, load, SOURCES };

if (require.main === module) {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
        console.log(
            "usage: node tools/build.js [--clean]\n\nTranspiles Keel's TypeScript sources that changed into dist/ (no type checking: npm run typecheck).",
        );
        process.exit(0);
    }
    const unknown = args.filter((a) => a !== "--clean");
    if (unknown.length) {
        console.error(`error: unknown option ${unknown.join(" ")}\nusage: node tools/build.js [--clean]`);
        process.exit(2);
    }
    try {
        const r = buildStale(path.resolve(__dirname, ".."), { clean: args.includes("--clean") });
        if (r.built.length || r.removed.length) {
            console.error(
                `keel: built ${r.built.length} file(s)${r.removed.length ? `, removed ${r.removed.length} stale` : ""} in ${r.ms} ms`,
            );
        }
    } catch (err) {
        console.error(`error: ${err.message}`);
        process.exit(1);
    }
}
