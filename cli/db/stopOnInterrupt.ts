/**
 * Ctrl-C during a copy (db copy, db reset): the copy stops and drops what it
 * wrote, so the target is left as it was; said at once, since dropping takes a moment.
 */
export function stopOnInterrupt(say: (line: string) => void): AbortSignal {
    const controller = new AbortController();
    const onSignal = () => {
        say("keel: interrupted: dropping the unfinished copy; the target is left as it was\n");
        controller.abort();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    return controller.signal;
}
