// Prints one closing line over everything scripts/test.sh ran: vitest's JSON reports, csi-sanity's JUnit reports and
// the External Storage suite's counts.
// "N passed, N failed, N skipped" is the line CI reads; the exit status of scripts/test.sh is the verdict.
const fs = require('node:fs');
const path = require('node:path');

let passed = 0;
let failed = 0;
let skipped = 0;

// npm test's report, the fault harness's (test/faults/run.sh), the local-cluster e2e's and the test VM's (test/vm/).
for (const vitest of ['.run/vitest.json', '.run/vitest-faults.json', '.run/e2e-vitest.json', '.run/vm/vitest.json', '.run/vm/vitest-faults-xfs.json', '.run/vm/vitest-faults-ext4.json']) {
  if (!fs.existsSync(vitest)) continue;
  const r = JSON.parse(fs.readFileSync(vitest, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}

// csi-sanity's JUnit reports: the host's matrix and the test VM's quota configurations.
// test/sanity/run.sh writes <dir>/<csi-sanity version>/<configuration>/junit.xml.
const subdirs = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).map((d) => path.join(dir, d)).filter((d) => fs.statSync(d).isDirectory()) : []);
const sanityReports = ['.run/sanity', '.run/vm/sanity'].flatMap(subdirs).flatMap(subdirs).map((config) => path.join(config, 'junit.xml'));
for (const file of sanityReports) {
  if (!fs.existsSync(file)) continue;
  for (const tc of fs.readFileSync(file, 'utf8').match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? []) {
    if (/<(failure|error)\b/.test(tc)) failed++;
    else if (/<skipped\b/.test(tc)) skipped++;
    else passed++;
  }
}

// Kubernetes' External Storage suite: the counts test/e2e/local-cluster/external-storage/ wrote per definition.
const external = '.run/external-storage';
for (const definition of fs.existsSync(external) ? fs.readdirSync(external) : []) {
  const file = path.join(external, definition, 'counts.json');
  if (!fs.existsSync(file)) continue;
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += c.passed;
  failed += c.failed;
  skipped += c.skipped;
}

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
