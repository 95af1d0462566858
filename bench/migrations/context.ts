/** What every section of bench:migrations works with: the options, the output, the cluster and the generated migrations. */
import type { PostgresCluster } from "../../tools/postgres";
import type { Generated } from "./generate";
import type { Options } from "./options";
import type { ServerCpu } from "./serverCpu";

export interface BenchRun {
    opts: Options;
    out: (line?: string) => void;
    cluster: PostgresCluster;
    /** Undefined where /proc cannot tell (see ServerCpu). */
    server?: ServerCpu;
    /** The `count` migrations, in each tool's format. */
    g: Generated;
    /** The run's temporary directory. */
    tmp: string;
    /** The bench's entry file, which the child probes run. */
    entry: string;
}
