// The layout rules of DESIGN.md that an import-cycle check cannot see:
// the emulator is a separate service (it imports nothing from the library),
// and no stage imports a sibling stage (shared code lives in src/internal or src/run).
import madge from 'madge';

const graph = (await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' })).obj();
const stageOf = (file) => /^stages\/([^/.]+)/.exec(file)?.[1];
const problems = [];
for (const [from, deps] of Object.entries(graph)) {
  for (const to of deps) {
    if (from.startsWith('emulator/') && !to.startsWith('emulator/')) {
      problems.push(`${from} imports ${to}: the emulator must import nothing from the library`);
    }
    const a = stageOf(from);
    const b = stageOf(to);
    if (a && b && a !== b) problems.push(`${from} imports ${to}: a stage must not import a sibling stage`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`layout ok: ${Object.keys(graph).length} modules`);
