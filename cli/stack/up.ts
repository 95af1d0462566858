/** keel stack up [<stack>]: the update (npm run up). */
import { KeelContext } from "../cli";
import { engineVerb } from "./engineVerb";

export const upCommand = (cli: KeelContext) =>
    engineVerb(
        "up",
        " What holds data is never deleted or replaced unless keel:allowDataLoss names it (README: What Keel never deletes).",
        cli,
    );
