/**
 * The generated docs: `npm run docs` writes docs/config.md from the config's zod schemas
 * (components/config/reference.ts); `npm run docs:check` (CI, .ci/run) exits 1 when the
 * file differs from what the schemas give, naming the file and `npm run docs`.
 *
 *   node dist/tools/docs.js            write docs/config.md
 *   node dist/tools/docs.js --check    exit 1 when docs/config.md is stale
 */
import * as fs from "fs";
import * as path from "path";
import { REFERENCE_FILE, renderReference } from "../components/config/reference";
import { KeelError } from "../components/errors";

/** Writes the reference under `root`; returns the file's path relative to it. */
export function writeReference(root: string, text: string = renderReference()): string {
    const file = path.join(root, REFERENCE_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return REFERENCE_FILE;
}

/** Throws when the reference under `root` is missing or differs from `text` (the schemas' reference by default). */
export function checkReference(root: string, text: string = renderReference()): void {
    const file = path.join(root, REFERENCE_FILE);
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    if (current === text) return;
    throw new KeelError(
        `${REFERENCE_FILE} is ${current === undefined ? "missing" : "stale: it differs from the config schemas in components/config"}; ` +
            "run `npm run docs` and commit the file",
        "StaleReferenceError",
    );
}

function main(argv: string[]): number {
    const root = path.resolve(__dirname, "..", "..");
    try {
        if (argv.includes("--check")) {
            checkReference(root);
            console.log(`${REFERENCE_FILE} is up to date`);
        } else {
            console.log(`wrote ${writeReference(root)}`);
        }
        return 0;
    } catch (err) {
        if (!(err instanceof KeelError)) throw err;
        console.error(err.message);
        return 1;
    }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
