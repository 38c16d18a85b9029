// Runs the files in name order, with secrets.test.ts last: it greps the journals the others wrote.
const Sequencer = require('@jest/test-sequencer').default;

class ReliabilitySequencer extends Sequencer {
  sort(tests) {
    const last = (path) => (/secrets\.test\.ts$/.test(path) ? 1 : 0);
    return [...tests].sort((a, b) => last(a.path) - last(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

module.exports = ReliabilitySequencer;
