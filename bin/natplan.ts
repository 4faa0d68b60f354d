/**
 * The one entry point of the image: `natplan operator ...`, `natplan agent ...`,
 * `natplan cleanup` (the agent's removal of everything it installed), `natplan
 * cleanup-wait` (the uninstall hook that waits until cleanup ran on every node),
 * `natplan --version`.
 */
import { NoKubeConfigError } from '../controller-kit/src/process.js';
// tsc copies the imported package.json next to dist/, so this resolves in both layouts.
import packageJson from '../package.json' with { type: 'json' };

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
      await (await import('../node-agent/src/main.js')).main(['--cleanup', ...args]);
      break;
    case 'cleanup-wait':
      await (await import('../node-agent/src/uninstall/wait.js')).main(args);
      break;
    case '--version':
      console.log(`natplan ${packageJson.version}`);
      break;
    default:
      console.error('usage: natplan operator|agent|cleanup|cleanup-wait [flags] | --version   (--help for flags)');
      process.exitCode = 2;
  }
} catch (err) {
  // A process that cannot start says why in one line; anything else keeps its stack.
  if (!(err instanceof NoKubeConfigError)) throw err;
  console.error(`natplan ${command}: ${err.message}`);
  process.exitCode = 2;
}
