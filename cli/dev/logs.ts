/** keel dev logs [-f] [-n <lines>]: the server log of the stack's local database (npm run dev:logs). */
import { KeelContext } from "../cli";
import { devVerb, runDevVerb } from "./devVerb";

export function logsCommand(cli: KeelContext) {
    return devVerb("logs")
        .description("Prints the server log of the stack's local database (or its Docker container's log).")
        .option("-f, --follow", "keep printing what the server writes, until Ctrl-C")
        .option("-n, --lines <lines>", "only the last <lines> lines")
        .action((o) => runDevVerb("logs", { stack: o.stack, follow: o.follow === true, lines: o.lines }, cli));
}
