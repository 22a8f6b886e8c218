/**
 * `osk bootstrap <task>`: the command the cloud's Kubernetes Jobs run from the osk image
 * (src/bootstrap/tasks.ts). Hidden from the help: users do not call it, the Jobs do.
 */
import { Argument, type Command } from '@commander-js/extra-typings';
import { BOOTSTRAP_TASKS } from '../catalog/common.js';
import type { Io } from './io.js';

export function registerBootstrapCommand(program: Command, io: Io): void {
  program
    .command('bootstrap', { hidden: true })
    .description('run one bootstrap task of a Kubernetes Job; its inputs come from the environment')
    .addArgument(new Argument('<task>', 'what to bring in line').choices(BOOTSTRAP_TASKS))
    .action(async (task) => {
      // Imported when it runs, like every verb's work (main.ts): the OpenStack client stays out of the help.
      const { runBootstrapTask } = await import('../bootstrap/tasks.js');
      const done = await runBootstrapTask(task, process.env, (line) => io.stderr(`${line}\n`));
      io.stdout(`${done}\n`);
    });
}
