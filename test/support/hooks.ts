/** Mocha root hooks: the PostgreSQL cluster is stopped and deleted after the run, pass or fail. */
import { stopTestCluster } from "./postgres";

export const mochaHooks = {
    async afterAll(): Promise<void> {
        await stopTestCluster();
    },
};
