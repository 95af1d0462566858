/**
 * Ctrl-C in a terminal reaches the engine's CLI too (one process group), which then
 * finishes the steps under way and stops; a second one makes it stop at once. This
 * process must stay up meanwhile (the program runs inline here: without it the
 * engine loses the program in the middle of the update), and must not signal the CLI
 * again (a second SIGINT). So the first SIGINT or SIGTERM here only says so; a second
 * one (or a signal sent to this process alone, twice) cancels the CLI itself.
 */
export function interruptions(): AbortSignal {
    const controller = new AbortController();
    let seen = 0;
    const onSignal = () => {
        seen++;
        if (seen === 1) {
            process.stderr.write(
                "keel: interrupted: the engine finishes the steps under way and stops (interrupt again to cancel it now)\n",
            );
        } else controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return controller.signal;
}
