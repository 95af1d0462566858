/** keel stack destroy [<stack>]: every resource of the stack removed (npm run destroy). */
import { KeelContext } from "../cli";
import { engineVerb } from "./engineVerb";

export const destroyCommand = (cli: KeelContext) =>
    engineVerb(
        "destroy",
        " Destroy is the one command that removes what holds data (the database, the schema resource): it lifts Keel's data guard for the whole stack.",
        cli,
    );
