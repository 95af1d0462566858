/**
 * The frontend's part of `npm run rollback` against the fake Vercel API: the
 * deployment live when the target's update ended is found and promoted back;
 * on Hobby, an older one is refused before anything is written.
 */
import { strict as assert } from "assert";
import { frontendColumn, planFrontendRollback } from "../../components/frontend/rollback";
import type { Deploy } from "../../scripts/lib/stackHistory";
import { FakeVercel } from "../support/fakeVercel";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);

describe("rollback: the Vercel production deployment (fake Vercel API)", () => {
    let fake: FakeVercel;
    const lines: string[] = [];
    const env = () => ({ VERCEL_API_URL: fake.url, VERCEL_API_TOKEN: fake.token });

    before(async () => {
        fake = await FakeVercel.start();
    });
    after(() => fake.stop());
    beforeEach(() => {
        fake.reset();
        lines.length = 0;
    });

    /** Three production deployments an hour apart, each live five minutes after it was created; the newest serves. */
    function seed(plan: "hobby" | "pro") {
        fake.plan = plan;
        const project = fake.addProject({ name: "shop-web" });
        const d = [0, 1, 2].map((i) => fake.addDeployment(project.id, { created: T0 + i * HOUR, ready: T0 + i * HOUR + 300_000 }));
        return { project, d };
    }

    it("promotes the deployment that was live when the target's update ended, after the plan named it", async () => {
        const { project, d } = seed("pro");
        const r = await planFrontendRollback({
            projectId: project.id,
            time: new Date(T0 + HOUR + 600_000),
            env: env(),
            say: (l) => lines.push(l),
        });
        assert.equal(r.step.kind, "promote");
        assert.equal(r.step.deploymentId, d[1].uid);
        assert.match(r.step.line, new RegExp(`-> ${d[1].uid}`));
        assert.equal(fake.mutations().length, 0, "planning writes nothing");
        await r.apply();
        assert.equal(fake.production(project.id)?.uid, d[1].uid);
    });

    it("on Hobby, an older deployment than the previous one is refused at planning, with nothing written", async () => {
        const { project } = seed("hobby");
        const r = await planFrontendRollback({
            projectId: project.id,
            time: new Date(T0 + 600_000),
            env: env(),
            say: (l) => lines.push(l),
        });
        assert.equal(r.step.kind, "refused");
        assert.match(r.step.line, /Hobby|previous production deployment/);
        await r.apply();
        assert.equal(fake.mutations().length, 0);
    });

    it("nothing to do when the same deployment is live; a stack without a frontend has no step", async () => {
        const { project, d } = seed("pro");
        const same = await planFrontendRollback({
            projectId: project.id,
            time: new Date(T0 + 2 * HOUR + 600_000),
            env: env(),
            say: () => undefined,
        });
        assert.equal(same.step.kind, "none");
        assert.equal(same.step.deploymentId, d[2].uid);
        const absent = await planFrontendRollback({ time: new Date(), env: env(), say: () => undefined });
        assert.equal(absent.step.kind, "absent");
        assert.equal(fake.mutations().length, 0);
    });

    it("without a token the step is refused, naming what to set", async () => {
        const { project } = seed("pro");
        const r = await planFrontendRollback({
            projectId: project.id,
            time: new Date(),
            env: { VERCEL_API_URL: fake.url },
            say: () => undefined,
        });
        assert.equal(r.step.kind, "refused");
        assert.match(r.step.line, /VERCEL_API_TOKEN/);
    });

    it("the list's frontend column: the deployment live when each deploy ended; nothing without a frontend or a token", async () => {
        const { project, d } = seed("pro");
        const at = (version: number, ms: number, outputs: Record<string, unknown>): Deploy => ({
            version,
            kind: "update",
            result: "succeeded",
            startTime: new Date(ms - 60_000),
            endTime: new Date(ms),
            message: "",
            dirty: false,
            config: {},
            outputs,
            resourceChanges: {},
        });
        const deploys = [
            at(1, T0 + 600_000, { frontendProjectId: project.id }),
            at(2, T0 + 2 * HOUR + 600_000, { frontendProjectId: project.id }),
            at(3, T0 + 2 * HOUR + 700_000, {}),
        ];
        assert.deepEqual(await frontendColumn(deploys, { env: env(), say: () => undefined }), { 1: d[0].uid, 2: d[2].uid });
        assert.deepEqual(await frontendColumn([deploys[2]], { env: env(), say: () => undefined }), {});
        const said: string[] = [];
        assert.deepEqual(await frontendColumn(deploys, { env: { VERCEL_API_URL: fake.url }, say: (l) => said.push(l) }), {});
        assert.match(said.join("\n"), /VERCEL_API_TOKEN/);
        assert.equal(fake.mutations().length, 0);
    });
});
