/** The Io of the commands the workflows run on a runner (components/operations), from the keel context. */
import { Command } from "@commander-js/extra-typings";
import { OperationsIo, processOperationsIo } from "../components/operations/io";
import type { HealthCheckTarget } from "../components/operations/probe";
import { KeelContext } from "./cli";

export function operationsIo(cli: KeelContext): OperationsIo {
    return {
        ...processOperationsIo(cli.root, cli.env, cli.out),
        // The records module (and the state backend's SDKs) load only when a command records something.
        record: async (r) => {
            const { keepRecord } = await import("../scripts/lib/records");
            await keepRecord(cli.root, r.stack, cli.env, r, (line) => cli.out(`${line}\n`));
        },
    };
}

/** What a health verb's help says of its own flags; the rest is the same for the watch and the monitor. */
export interface HealthFlagsHelp {
    stack: string;
    /** The verb for the URL flags: "probe", "check". */
    urls: string;
    slack: string;
}

/** The command of a health verb (deploy watch, monitor check) with the flags both take, typed. */
export function healthCommand(name: string, description: string, help: HealthFlagsHelp) {
    return new Command(name)
        .description(description)
        .requiredOption("-s, --stack <stack>", help.stack)
        .requiredOption("--environment <name>", "its GitHub environment (named in the errors)")
        .requiredOption("--branch <branch>", "the branch that deploys it (where the Rollback workflow runs from)")
        .option("--backend", `${help.urls} BACKEND_HEALTH_URL`)
        .option("--frontend", `${help.urls} FRONTEND_HEALTH_URL`)
        .option("--slack", help.slack);
}

/** The stack and its health URLs as the flags of `healthCommand` give them. */
export function healthTarget(o: {
    stack: string;
    environment: string;
    branch: string;
    backend?: true;
    frontend?: true;
    slack?: true;
}): HealthCheckTarget {
    return {
        stack: o.stack,
        environment: o.environment,
        branch: o.branch,
        backend: o.backend === true,
        frontend: o.frontend === true,
        slack: o.slack === true,
    };
}
