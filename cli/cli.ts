/**
 * What every verb of the keel command line shares: where it runs (the checkout,
 * its environment, its output streams) and how it ends. A verb is a thin shell:
 * it declares typed flags and hands the work to a façade in its component with
 * an Io built from this context, so tests call the façade (or `runKeel`) without
 * a process.
 */
export interface KeelContext {
    /** The checkout Keel runs in (its Pulumi.yaml, stack files and migrations). */
    root: string;
    env: Record<string, string | undefined>;
    /** The command's result (stdout). */
    out(text: string): void;
    /** Progress, warnings and errors (stderr). */
    err(text: string): void;
    /** Asks a yes/no question on a terminal; false where none is attached. */
    confirm(question: string): Promise<boolean>;
    /** Asks for a typed answer on a terminal; undefined where none is attached (absent: nobody can answer). */
    ask?(question: string): Promise<string | undefined>;
    /** Set by the verb's action: the process's exit code. */
    exitCode: number;
    /** Applied to an error's text before it is printed (a command that must never print a secret masks it here). */
    redact: (text: string) => string;
    /** Ctrl-C as the process receives it, for a verb whose engine must finish its steps (absent outside a process). */
    interruptions?: () => AbortSignal;
}
