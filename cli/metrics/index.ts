/** keel metrics: the solo operator's metrics of every stack (or each --stack) over a period (npm run metrics). */
import { Command, Option } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { jsonOption } from "../options";

export function metricsCommand(cli: KeelContext) {
    return new Command("metrics")
        .description(
            "Reads the stack history and Keel's records of every stack with a Pulumi.<stack>.yaml (or each --stack) and prints, over " +
                "the period: deploys (and per day), success rate, time spent deploying, change failure rate, rollbacks, time to restore " +
                "(median, worst), lead time, incidents, migrations, backups, drift runs and the last drills, each with a weekly trend. " +
                "Exit 0; 1 when a stack could not be read.",
        )
        .addOption(
            new Option("-s, --stack <stack>", "a stack to report (repeatable)")
                .argParser((value: string, previous: string[]) => [...previous, value])
                .default([] as string[], "every Pulumi.<stack>.yaml"),
        )
        .option("--since <when>", "the period's start: Nd, Nh or Nw before now (30d, 12h, 8w), or an ISO date (2026-11-01)", "30d")
        .addOption(
            jsonOption("print the report as JSON (format 1: components/metrics/report.ts); progress goes to stderr").conflicts("markdown"),
        )
        .option(
            "--markdown <file>",
            "also write the report as Markdown to <file>: a table per stack with weekly sparklines (a job summary)",
        )
        .option("--slack", "post a short digest to Slack (SLACK_WEBHOOK_URL); a post that fails is logged and never fails the command")
        .action(async (o) => {
            const { metrics } = await import("../../scripts/metrics");
            cli.exitCode = await metrics(
                { stacks: o.stack, since: o.since, json: o.json === true, markdown: o.markdown, slack: o.slack === true },
                { root: cli.root, env: cli.env, out: cli.out, err: cli.err },
            );
        });
}
