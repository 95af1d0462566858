/**
 * npm run db:url [-- --stack <s>] [--pooled]
 *
 * Prints the stack's direct database URL (the stack output databaseUrl, read
 * through the engine) and nothing else on stdout, for tools:
 *
 *   psql "$(npm run -s db:url)"
 *   export DATABASE_URL=$(npm run -s db:url -- --stack staging)
 *
 * On dev no passphrase is needed (its secrets use the empty one); elsewhere
 * PULUMI_CONFIG_PASSPHRASE must be set, as for npm run up. A stack that was
 * never deployed has no URL yet: the error says to run npm run up first.
 */
import { CommandSpec, ParsedCommandLine, runCommand } from "./lib/cli";
import { stackDatabase, stackOutput } from "./lib/stackDatabase";

export const SPEC: CommandSpec = {
    usage: "npm run db:url -- [--stack <stack>] [--pooled]",
    summary:
        "Prints the stack's direct database URL (its output databaseUrl, through the engine) and nothing else, for tools: " +
        'psql "$(npm run -s db:url)". Outside dev, PULUMI_CONFIG_PASSPHRASE must be set.',
    options: [
        { name: "stack", short: "s", value: "<stack>", help: "the stack (default: dev)" },
        { name: "pooled", help: "the pooled URL the app uses (databasePooledUrl) instead of the direct one" },
    ],
};

export interface DbUrlIo {
    root: string;
    env: Record<string, string | undefined>;
    /** The URL: the only thing written to stdout. */
    print(text: string): void;
}

export interface DbUrlOptions {
    stack: string;
    pooled: boolean;
}

export async function dbUrl(options: DbUrlOptions, io: DbUrlIo): Promise<number> {
    const o = { root: io.root, stack: options.stack, env: io.env };
    // The direct URL by the commands' one rule (an external stack reading DATABASE_URL prints that); the pooled one is only in the outputs.
    const url = options.pooled ? await stackOutput(o, "databasePooledUrl") : (await stackDatabase({ ...o, urlOption: false })).url;
    io.print(`${url}\n`);
    return 0;
}

if (require.main === module) {
    runCommand(SPEC, (args) =>
        dbUrl(
            { stack: (args.options.stack as string | undefined) ?? "dev", pooled: args.options.pooled === true },
            { root: process.cwd(), env: process.env, print: (t) => void process.stdout.write(t) },
        ),
    );
}
