/**
 * The one entry point of the image: `natplan operator ...`, `natplan agent ...`,
 * `natplan cleanup` (the agent's removal of everything it installed), `natplan
 * cleanup-wait` (the uninstall hook that waits until cleanup ran on every node),
 * `natplan --version`.
 */
import { StartupError } from '../controller-kit/src/process.js';
// tsc copies the imported package.json next to dist/, so this resolves in both layouts.
import packageJson from '../package.json' with { type: 'json' };

const USAGE = 'usage: natplan operator|agent|cleanup|cleanup-wait [flags] | --version | --help';
const [command, ...args] = process.argv.slice(2);

try {
  switch (command) {
    case 'operator':
      await (await import('../operator/src/main.js')).main(args);
      break;
    case 'agent':
      await (await import('../node-agent/src/main.js')).main(args);
      break;
    case 'cleanup':
      await (await import('../node-agent/src/main.js')).main(['--cleanup', ...args], { name: 'natplan cleanup', summary: 'removes every rule natplan installed on this node (both backends) and exits' });
      break;
    case 'cleanup-wait':
      await (await import('../node-agent/src/uninstall/wait.js')).main(args);
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
