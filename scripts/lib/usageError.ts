/**
 * A command line that cannot run as given (a missing or conflicting option, a bad value): the
 * keel command line answers it with exit 2, as it does the parser's own usage errors.
 */
import { KeelError } from "../../components/errors";

export class UsageError extends KeelError {
    constructor(message: string) {
        super(message, "UsageError");
    }
}
