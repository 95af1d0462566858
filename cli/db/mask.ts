/** keel db mask-check and keel db mask-init: the masking rules file (db/masking.yaml) against the migrations' columns. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

const RULES = ["--rules <file>", "the masking rules file, relative to the project root", "db/masking.yaml"] as const;
const MIGRATIONS = [
    "--migrations <dir>",
    "the migrations directory, relative to the project root (default: keel:migrations.dir of the stacks, else migrations)",
] as const;

export function maskCheckCommand(cli: KeelContext) {
    return new Command("mask-check")
        .description(
            "Checks that the masking rules classify every column the migration files leave behind, and that no rule names a " +
                "column or table that is gone. Exit 1 lists each unclassified column with the file:line that added it and the line " +
                "to add, and each stale rule; exit 0 when complete. Statements the files cannot tell (CREATE TABLE AS, LIKE, DO, " +
                "partitions) are listed to check against the live catalog.",
        )
        .option(...RULES)
        .option(...MIGRATIONS)
        .action(async (o) => {
            const { maskCheck } = await import("../../scripts/dbMask");
            cli.exitCode = await maskCheck({ rules: o.rules, migrations: o.migrations }, { root: cli.root, out: (l) => cli.out(`${l}\n`) });
        });
}

export function maskInitCommand(cli: KeelContext) {
    return new Command("mask-init")
        .description(
            "Writes the masking rules file for the migrations' columns, with strategies guessed from names and types " +
                "(email, phone, name, address, ip, token, password), every guess marked '# review'. Refuses to overwrite an existing file without --force.",
        )
        .option(...RULES)
        .option(...MIGRATIONS)
        .option("--force", "overwrite an existing rules file (its reviewed rules are lost)")
        .action(async (o) => {
            const { maskInit } = await import("../../scripts/dbMask");
            cli.exitCode = await maskInit(
                { rules: o.rules, migrations: o.migrations, force: o.force === true },
                { root: cli.root, out: (l) => cli.out(`${l}\n`) },
            );
        });
}
