/** Keel's metrics of a stack (issue 22): computed from its history and Keel's records, rendered for a terminal, Markdown, JSON and Slack. */
export { DEFINITIONS, CHANGE_FAILURE_WINDOW_MS } from "./failures";
export { stackMetrics, periodMetrics, stackFacts } from "./compute";
export type { MetricsInput } from "./compute";
export type { HistoryUpdate } from "./history";
export { parseSince, SINCE_FORMS, weeksOf } from "./period";
export type { MetricsReport, StackMetrics, PeriodMetrics } from "./report";
export { formatText } from "./text";
export { formatMarkdown } from "./markdown";
export { formatDigest } from "./digest";
