/** keel stack refresh [<stack>]: the state read back from the cloud, the program run for the outputs (npm run refresh). */
import { KeelContext } from "../cli";
import { engineVerb } from "./engineVerb";

export const refreshCommand = (cli: KeelContext) => engineVerb("refresh", "", cli);
