/** keel preflight: what a deploy of the stack needs, checked all at once (npm run preflight). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { jsonOption, stackOption, urlOption } from "../options";

export function preflightCommand(cli: KeelContext) {
    return new Command("preflight")
        .description(
            "Checks what a deploy of the stack needs, all at once: config and tokens, migration files, the history against the stack's " +
                "database (its output databaseUrl), a clean tree on the stack's branch, backups, prod redundancy. Exit 0 when nothing fails, 1 otherwise.",
        )
        .addOption(stackOption())
        .addOption(urlOption("the database to check the history of (default: the stack's own)"))
        .addOption(jsonOption("print the report as JSON"))
        .option("--offline", "skip the database check")
        .option("--branch <branch>", "the branch to check against the stack's (default: GITHUB_REF_NAME, else git's)")
        .action(async (o) => {
            // An error's text is masked too: a token or the URL's password must not reach the log.
            const { maskSecrets, SECRET_ENV } = await import("../../components/preflight/index");
            const secrets = [...SECRET_ENV.map((k) => cli.env[k]), o.url];
            const redact = cli.redact;
            cli.redact = (t) => maskSecrets(redact(t), secrets);
            const { runPreflight } = await import("../../scripts/preflight");
            cli.exitCode = await runPreflight(
                {
                    stack: o.stack,
                    ...(o.branch !== undefined ? { branch: o.branch } : {}),
                    ...(o.url !== undefined ? { url: o.url } : {}),
                    json: o.json === true,
                    offline: o.offline === true,
                },
                { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`) },
            );
        });
}
