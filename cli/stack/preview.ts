/** keel stack preview [<stack>]: what an update would do (npm run preview). */
import { KeelContext } from "../cli";
import { engineVerb } from "./engineVerb";

export const previewCommand = (cli: KeelContext) => engineVerb("preview", "", cli);
