/** keel dev start: the stack's database on this machine, started (npm run dev:start). */
import { KeelContext } from "../cli";
import { devVerb, runDevVerb } from "./devVerb";

export function startCommand(cli: KeelContext) {
    return devVerb("start")
        .description(
            "Starts the stack's database on this machine: a local one's server (created with keel stack up when a dev stack has none yet), " +
                "or a docker one's container. Prints its host, port and database, never the password.",
        )
        .action((o) => runDevVerb("start", { stack: o.stack }, cli));
}
