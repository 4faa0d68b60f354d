/**
 * The one entry point of the image: `natplan operator ...`, `natplan agent ...`,
 * `natplan cleanup` (the agent's removal of everything it installed), `natplan
 * cleanup-wait` (the uninstall hook that waits until cleanup ran on every node),
 * `natplan --version`.
 */
// tsc copies the imported package.json next to dist/, so this resolves in both layouts.
import packageJson from '../package.json' with { type: 'json' };

// The packages' exports give their TypeScript sources by default (tsx, vitest) and their
// compiled dist/ under the "natplan-dist" condition: compiled, this file needs it, and
// without it node would fail on the first import with an unknown ".ts" extension.
if (import.meta.url.endsWith('.js') && import.meta.resolve('@natplan/controller-kit').endsWith('.ts')) {
  console.error('natplan: the compiled program runs with `node --conditions=natplan-dist` (the image sets it in NODE_OPTIONS)');
  process.exit(1);
}
const { StartupError } = await import('@natplan/controller-kit');

const USAGE = 'usage: natplan operator|agent|cleanup|cleanup-wait [flags] | --version | --help';
const [command, ...args] = process.argv.slice(2);

try {
  switch (command) {
    case 'operator':
      await (await import('@natplan/operator')).main(args);
      break;
    case 'agent':
      await (await import('@natplan/node-agent')).main(args);
      break;
    case 'cleanup':
      await (await import('@natplan/node-agent')).main(['--cleanup', ...args], { name: 'natplan cleanup', summary: 'removes every rule natplan installed on this node (both backends) and exits' });
      break;
    case 'cleanup-wait':
      await (await import('@natplan/node-agent')).cleanupWaitMain(args);
      break;
    case '--version':
      console.log(`natplan ${packageJson.version}`);
      break;
    case '-h':
    case '--help':
      console.log(`${USAGE}\n\nEach command takes -h/--help (its flags) and --version.`);
      break;
    default:
      console.error(command === undefined ? USAGE : `natplan: unknown command ${JSON.stringify(command)}; ${USAGE}`);
      process.exitCode = 2;
  }
} catch (err) {
  // A process that cannot start (no kubeconfig, no API server) says why in one line and
  // exits 1; anything else keeps its stack.
  if (!(err instanceof StartupError)) throw err;
  console.error(`natplan ${command}: ${err.message}`);
  process.exitCode = 1;
}
