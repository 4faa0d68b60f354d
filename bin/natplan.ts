/**
 * The one entry point of the image: `natplan operator ...`, `natplan agent ...`,
 * `natplan cleanup` (the agent's removal of everything it installed), `natplan
 * cleanup-wait` (the uninstall hook that waits until cleanup ran on every node).
 */
const [command, ...args] = process.argv.slice(2);

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
  default:
    console.error('usage: natplan operator|agent|cleanup|cleanup-wait [flags]   (--help for flags)');
    process.exitCode = 2;
}
