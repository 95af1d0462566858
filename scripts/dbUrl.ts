/**
 * keel db url [--stack <s>] [--pooled]   (npm run db:url)
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
import { stackDatabase, stackOutput } from "./lib/stackDatabase";

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
