// The layout rules of DESIGN.md that an import-cycle check cannot see:
// - the emulator is a separate service (it imports nothing from the library);
// - no stage imports a sibling stage (shared code lives in src/internal or src/run);
// - the stages, the run context and the journal reach the batch service only through
//   the seam (src/backend/): none imports a backend's folder (src/backends/).
import madge from 'madge';

const graph = (await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' })).obj();
const stageOf = (file) => /^stages\/([^/.]+)/.exec(file)?.[1];
const behindTheSeam = (file) => /^(stages|run|journal|internal|backend)\//.test(file);
const problems = [];
for (const [from, deps] of Object.entries(graph)) {
  for (const to of deps) {
    if (from.startsWith('emulator/') && !to.startsWith('emulator/')) {
      problems.push(`${from} imports ${to}: the emulator must import nothing from the library`);
    }
    const a = stageOf(from);
    const b = stageOf(to);
    if (a && b && a !== b) problems.push(`${from} imports ${to}: a stage must not import a sibling stage`);
    if (behindTheSeam(from) && (to.startsWith('backends/') || to.startsWith('api/'))) {
      problems.push(`${from} imports ${to}: stages, the run and the journal reach a service only through src/backend/ (the seam)`);
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`layout ok: ${Object.keys(graph).length} modules`);
