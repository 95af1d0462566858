/** The Io of the commands the workflows run on a runner (components/operations), from the keel context. */
import { OperationsIo, processOperationsIo } from "../components/operations/io";
import { KeelContext } from "./cli";

export function operationsIo(cli: KeelContext): OperationsIo {
    return processOperationsIo(cli.root, cli.env, cli.out);
}
