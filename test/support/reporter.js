// Mocha's spec reporter, closing with one plain summary line ("N passed, N failed, N skipped")
// that CI logs and humans both read the same way.
"use strict";
const Mocha = require("mocha");

class KeelReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const s = runner.stats ?? {};
            process.stdout.write(`\ntests: ${s.passes ?? 0} passed, ${s.failures ?? 0} failed, ${s.pending ?? 0} skipped\n`);
        });
    }
}

module.exports = KeelReporter;
