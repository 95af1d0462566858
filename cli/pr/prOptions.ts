/** What the pr verbs share: the pull request's number, the base stack, and their io. */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { PrIo } from "../../scripts/lib/previewIo";
import { KeelContext } from "../cli";

export function parsePrNumber(value: string): number {
    if (!/^[1-9][0-9]{0,8}$/.test(value.trim()))
        throw new InvalidArgumentError(`expects a pull request's number such as 42; got '${value}'`);
    return Number(value.trim());
}

export const prOption = () => new Option("--pr <n>", "the pull request's number (required)").argParser(parsePrNumber).makeOptionMandatory();
export const fromOption = () => new Option("--from <stack>", "the base stack the preview is made from").default("staging");

export function prIo(cli: KeelContext): PrIo {
    return {
        root: cli.root,
        env: cli.env,
        out: (l) => cli.out(`${l}\n`),
        err: cli.err,
        ...(cli.interruptions ? { signal: cli.interruptions() } : {}),
    };
}
