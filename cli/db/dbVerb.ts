/** What the verbs of keel db over backups share: the stack, and the façade (scripts/db.ts) with the context's streams. */
import type { DbOptions, DbVerb } from "../../scripts/db";
import { KeelContext } from "../cli";

export async function runDbVerb(verb: DbVerb, options: DbOptions, cli: KeelContext): Promise<void> {
    const { dbCommand } = await import("../../scripts/db");
    cli.exitCode = await dbCommand(verb, options, { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`), confirm: cli.confirm });
}
