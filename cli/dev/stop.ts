/** keel dev stop: the stack's local server or container stopped, the data kept (npm run dev:stop). */
import { KeelContext } from "../cli";
import { devVerb, runDevVerb } from "./devVerb";

export function stopCommand(cli: KeelContext) {
    return devVerb("stop")
        .description("Stops the stack's local server or Docker container; the data is kept (keel dev start starts it again).")
        .action((o) => runDevVerb("stop", { stack: o.stack }, cli));
}
