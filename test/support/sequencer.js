/**
 * The order of the test files (jest's `testSequencer`): jest's own — files
 * that failed last time first, then the longest by their last run's time —
 * except that a file with no time yet (a fresh clone, as in CI) whose header
 * comment carries `@slow` starts before the others. Without it, jest orders
 * untimed files by size, and a short file that runs for minutes (the access
 * property) starts last and runs on alone while the other worker idles.
 */
const fs = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

/** Whether the file's leading comment has a line ` * @slow`. */
function markedSlow(path) {
  const head = fs.readFileSync(path, 'utf8').slice(0, 4000);
  const comment = /^\s*\/\*\*([\s\S]*?)\*\//.exec(head);
  return comment !== null && /^\s*\*\s*@slow\b/m.test(comment[1]);
}

class SlowFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const first = sorted.filter((test) => test.duration == null && markedSlow(test.path));
    return [...first, ...sorted.filter((test) => !first.includes(test))];
  }
}

module.exports = SlowFirst;
