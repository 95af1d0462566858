/**
 * The other sides of npm run bench:engine, run exactly as Keel's own program is
 * run (scripts/lib/engine.ts: the Automation API with the program inline), so
 * the sides differ only by the program:
 *
 *   trivial       a program with one stack output and nothing else
 *   dynamic       the same with one dynamic resource whose provider does nothing:
 *                 what any program with a dynamic provider pays for its process
 *   typechecked   Keel's program from its TypeScript sources through ts-node
 *                 with type checking, as Pulumi's nodejs language host runs a
 *                 `typescript: true` project (what every preview cost before)
 *
 *   node dist/bench/previewProgram.js <project dir> trivial|dynamic|typechecked [preview|up]
 */
import * as path from "path";
import { keelStack } from "../scripts/lib/engine";

const PROGRAMS: Record<string, (root: string) => () => Promise<Record<string, unknown>>> = {
    trivial: () => async () => ({ greeting: "hello" }),
    dynamic: () => async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        // The provider's text as the engine's plugin loads it (as Keel's own stand-ins are written).
        const noop =
            "exports.handler = () => ({ check: async (_o, n) => ({ inputs: n }), diff: async () => ({ changes: false }), create: async () => ({ id: 'noop', outs: {} }) });";
        class Noop extends pulumi.CustomResource {}
        new Noop("pulumi-nodejs:dynamic/bench:Noop", "noop", { __provider: noop });
        return { greeting: "hello" };
    },
    typechecked: (root) => async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require("ts-node").register({ transpileOnly: false, project: path.join(root, "tsconfig.json") });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(path.join(root, "index.ts"))(root);
    },
};

async function main(argv: string[]): Promise<void> {
    const [root, program, command = "preview"] = argv;
    if (!root || !PROGRAMS[program] || !["preview", "up"].includes(command)) {
        throw new Error(`usage: node dist/bench/previewProgram.js <project dir> ${Object.keys(PROGRAMS).join("|")} [preview|up]`);
    }
    const stack = await keelStack({ root, stack: "dev", program: PROGRAMS[program](root) });
    if (command === "up") await stack.up({});
    else await stack.preview({});
}

main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(`error: ${err?.message ?? err}\n`);
        process.exit(1);
    },
);
