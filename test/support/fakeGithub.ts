/** The fake GitHub REST API, deployments and their statuses (tools/fakeGithub/). */
export * from "../../tools/fakeGithub";
