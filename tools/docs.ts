/**
 * The generated docs, each written from what it documents so it cannot drift from it:
 * docs/config.md from the config's zod schemas (components/config/reference.ts) and
 * docs/commands.md from the keel command tree (cli/reference.ts). `npm run docs` writes
 * them; `npm run docs:check` (CI, .ci/run) exits 1 when one differs, naming it and `npm run docs`.
 *
 *   node dist/tools/docs.js            write every generated document
 *   node dist/tools/docs.js --check    exit 1 when one is missing or stale
 */
import * as fs from "fs";
import * as path from "path";
import { keelProgram } from "../cli/main";
import { commandsReference } from "../cli/reference";
import { REFERENCE_FILE, renderReference } from "../components/config/reference";
import { KeelError } from "../components/errors";

export interface GeneratedDoc {
    /** Its path under the repository root. */
    file: string;
    /** What it is generated from, for the stale message. */
    from: string;
    render(): string;
}

export const COMMANDS_FILE = "docs/commands.md";

const COMMANDS_INTRO = [
    "Every command is a verb of `keel`. From the checkout run `./keel <noun> <verb>` (it builds what changed, then runs);",
    "`npm run -s keel -- <noun> <verb>` works too, and `npx keel` as well, but npx runs npm's installer on every call",
    "(`npx keel --help` 2.65 s against 0.16 s for `./keel --help`, medians of `farm-bench -n 5 --vs './keel --help' -- npx keel --help`,",
    "16 times slower). The npm scripts in package.json",
    "(`npm run up -- prod`, `npm run db:url`, `npm run rollback -- --previous`) are aliases of these verbs.",
    "",
    "Exit codes: 0 when it worked (and for `--help`); 2 for a usage error, printed with the verb's usage; 1 for an error,",
    "printed as its message with the fix (`KEEL_DEBUG=1` adds the stack trace). `drift` and `schema diff` exit 1 when",
    "something differs and 2 when a side could not be checked. Commands that read take `--json` (one document on stdout,",
    "progress on stderr). Shell completion: `source <(./keel completion bash)` (or `zsh`, after `compinit`).",
    "",
    "This file is generated from the command tree (`npm run docs`; CI checks it with `npm run docs:check`).",
].join("\n");

/** The commands reference of the tree as `keel --help` shows it (the tree is built, never run). */
export function renderCommands(): string {
    const inert = {
        root: ".",
        env: {},
        out: () => undefined,
        err: () => undefined,
        confirm: async () => false,
        exitCode: 0,
        redact: (t: string) => t,
    };
    return commandsReference(keelProgram(inert), COMMANDS_INTRO);
}

export const GENERATED: GeneratedDoc[] = [
    { file: REFERENCE_FILE, from: "the config schemas in components/config", render: renderReference },
    { file: COMMANDS_FILE, from: "the command tree in cli/", render: renderCommands },
];

export class StaleReferenceError extends KeelError {
    constructor(message: string) {
        super(message, "StaleReferenceError");
    }
}

/** Writes a generated document under `root`; returns its path relative to it. */
export function writeDoc(root: string, doc: GeneratedDoc, text: string = doc.render()): string {
    const file = path.join(root, doc.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return doc.file;
}

/** Throws when the document under `root` is missing or differs from `text` (what its source gives by default). */
export function checkDoc(root: string, doc: GeneratedDoc, text: string = doc.render()): void {
    const file = path.join(root, doc.file);
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    if (current === text) return;
    throw new StaleReferenceError(
        `${doc.file} is ${current === undefined ? "missing" : `stale: it differs from ${doc.from}`}; run \`npm run docs\` and commit the file`,
    );
}

const CONFIG_DOC = GENERATED[0];

/** The config reference (docs/config.md) written under `root`. */
export function writeReference(root: string, text: string = CONFIG_DOC.render()): string {
    return writeDoc(root, CONFIG_DOC, text);
}

/** Throws when the config reference under `root` is missing or stale. */
export function checkReference(root: string, text: string = CONFIG_DOC.render()): void {
    checkDoc(root, CONFIG_DOC, text);
}

const USAGE =
    "usage: npm run docs [-- --check]\n\nWrites docs/config.md and docs/commands.md from what they document; --check exits 1 when one is stale.";

function main(argv: string[]): number {
    if (argv.includes("-h") || argv.includes("--help")) {
        console.log(USAGE);
        return 0;
    }
    const unknown = argv.filter((a) => a !== "--check");
    if (unknown.length) {
        console.error(`error: unknown option ${unknown.join(" ")}\n\n${USAGE}`);
        return 2;
    }
    const root = path.resolve(__dirname, "..", "..");
    const stale: string[] = [];
    for (const doc of GENERATED) {
        if (!argv.includes("--check")) {
            console.log(`wrote ${writeDoc(root, doc)}`);
            continue;
        }
        try {
            checkDoc(root, doc);
            console.log(`${doc.file} is up to date`);
        } catch (err) {
            if (!(err instanceof StaleReferenceError)) throw err;
            stale.push(err.message);
        }
    }
    for (const m of stale) console.error(m);
    return stale.length ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
