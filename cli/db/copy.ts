/** keel db copy: one database copied over another, masked by db/masking.yaml when its data is prod's (npm run db:copy). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stopOnInterrupt } from "./stopOnInterrupt";
import { yesOption } from "../options";

const list = (v: string) =>
    v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);

export function copyCommand(cli: KeelContext) {
    return new Command("copy")
        .description(
            "Copies one database over another (each a stack or a postgres:// URL): masked by db/masking.yaml whenever the source is a " +
                "prod-stage stack (--unmasked refused) or a URL (unless --unmasked), unmasked between other stacks unless --masked. " +
                "The copy is written under a temporary name, checked (row counts, constraints, no original value in a masked column), " +
                "then swapped in; the target's previous database is kept. Never into a prod-stage stack. Prints the plan and asks first.",
        )
        .option("--from <stack|url>", "the database copied from (default: the target stack's keel:copyFrom)")
        .requiredOption("--to <stack|url>", "the database replaced")
        .option("--schema-only", "copy the schema without rows (Keel's migration history comes with its rows)")
        .option("--tables <list>", "copy only these tables' rows (comma-separated); the others are created empty", list)
        .option("--masked", "mask a copy between non-prod stacks too")
        .option("--unmasked", "copy a URL's data as it is (refused when the source is a prod-stage stack)")
        .option("--rules <file>", "the masking rules file, relative to the project root", "db/masking.yaml")
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .action(async (o) => {
            const { dbCopy } = await import("../../scripts/dbCopy");
            cli.exitCode = await dbCopy(
                {
                    from: o.from,
                    to: o.to,
                    schemaOnly: o.schemaOnly === true,
                    tables: o.tables,
                    masked: o.masked === true,
                    unmasked: o.unmasked === true,
                    rules: o.rules,
                    yes: o.yes === true,
                },
                {
                    root: cli.root,
                    env: cli.env,
                    out: (l: string) => cli.out(`${l}\n`),
                    confirm: cli.confirm,
                    interruptible: () => stopOnInterrupt((l) => cli.err(l)),
                },
            );
        });
}
