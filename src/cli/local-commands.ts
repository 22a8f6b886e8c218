/**
 * The all-in-one verbs: up, down, status, logs, env (and the hidden supervise that `up` starts).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import { parseCloudFile } from '../spec/load.js';
import { envLines } from '../targets/local/access.js';
import { DEFAULT_CLOUD_YAML, openLocalCloud, resolveCloudName, upLocal } from '../targets/local/cloud.js';
import { down } from '../targets/local/down.js';
import { statePaths } from '../state/paths.js';
import { rotateLocalKeys } from '../targets/local/key-rotation.js';
import { localStatus, statusTable } from '../targets/local/status.js';
import { hostWaves } from '../targets/local/up.js';
import { kubeStatusCommand } from './kube-commands.js';
import { outputOption } from './output.js';
import { createReporter } from './progress.js';
import { ask } from './input.js';
import type { Io, ReadCloud } from './io.js';

export function registerLocalCommands(program: Command, io: Io, readCloud: ReadCloud): void {
  upCommand(program, io, readCloud);
  downCommand(program, io);
  statusCommand(program, io, readCloud);
  logsCommand(program);
  envCommand(program, io);
  rotateKeysCommand(program, io);
}

const cloudOption = () => new Option('--cloud <name>', 'the all-in-one cloud (default: the only one on this host)');

function upCommand(program: Command, io: Io, readCloud: ReadCloud): void {
  program
    .command('up')
    .summary('run the cloud on this host, with fake compute and volume drivers (no real guests or volumes)')
    .description(
      'run the cloud on this host: Debian packages, supervised on loopback (the built-in minimal cloud when no -f). ' +
        'Nova and Cinder run their fake drivers, the only ones osk up has: servers, ports and volumes go through their whole API lifecycle with no guest and no stored data behind them (real VMs and volumes: osk apply on Kubernetes)',
    )
    .option('-f, --filename <file>', 'cloud file ("-" reads standard input)')
    .option('-y, --yes', 'install missing Debian packages without asking (needs root)')
    .addOption(new Option('--timeout <seconds>', 'how long one component may take to get ready').default('300'))
    .action(async (opts) => {
      const file = opts.filename
        ? await readCloud(opts.filename, io)
        : parseCloudFile(DEFAULT_CLOUD_YAML, '<built-in minimal cloud>');
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0)
        throw new OskError(`--timeout must be a number of seconds, not "${opts.timeout}"`, {
          exitCode: ExitCode.invalidInput,
        });
      const reporter = createReporter(process.stderr);
      // Interrupted: say where it stopped. Programs already started keep running under the
      // supervisor; a rerun continues from there (steps that completed are not repeated).
      const onSignal = (sig: NodeJS.Signals) => {
        const busy = reporter.inFlight();
        reporter.close();
        io.stderr(
          `\nosk up interrupted (${sig})${busy.length ? ` while working on: ${busy.join(', ')}` : ''}.\nWhat is already running keeps running; run osk up again to continue, or osk down to stop it.\n`,
        );
        process.exit(130);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const s = await upLocal({
          file,
          install: Boolean(opts.yes),
          timeoutSeconds: timeout,
          reporter,
        });
        reporter.close();
        const counts = new Map<string, number>();
        for (const v of s.outcomes.values()) {
          const k = v.startsWith('skipped') ? 'skipped' : v;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        io.stdout(
          [
            `cloud ${s.cloud} is up in ${s.seconds.toFixed(1)} s (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')})`,
            `  state:       ${s.paths.root}`,
            `  clouds.yaml: ${s.paths.cloudsYaml} (clouds "${s.cloud}" = admin, "${s.cloud}-demo" = demo)`,
            `  use it:      eval "$(osk env${s.cloud === 'default' ? '' : ` --cloud ${s.cloud}`})" && openstack server list`,
            '',
          ].join('\n'),
        );
      } finally {
        reporter.close();
      }
    });
}

function downCommand(program: Command, io: Io): void {
  program
    .command('down')
    .description('stop every program of the all-in-one cloud (by PID, dependants first); --purge also deletes its data')
    .addOption(cloudOption())
    .option('--purge', 'remove the state: configs, databases, images, logs and credentials')
    .option('-y, --yes', 'do not ask before --purge')
    .action(async (opts) => {
      const name = await resolveCloudName(opts.cloud);
      if (opts.purge && !opts.yes) {
        if (!process.stdin.isTTY)
          throw new OskError(
            `--purge deletes every database, image and credential of cloud ${name}; add --yes to confirm`,
            { exitCode: ExitCode.invalidInput },
          );
        const answer = await ask(
          `delete all data of cloud ${name} (${statePaths(name).root})? type the cloud name to confirm: `,
        );
        if (answer.trim() !== name)
          throw new OskError('not confirmed; nothing was deleted', { exitCode: ExitCode.invalidInput });
      }
      const { model, paths } = await openLocalCloud(name);
      const r = await down(paths, hostWaves(model), { purge: Boolean(opts.purge), log: (l) => io.stderr(`${l}\n`) });
      io.stdout(
        `cloud ${name}: stopped ${r.stopped.length} programs${r.purged ? `; removed ${paths.root}` : '; data kept (osk up starts it again)'}\n`,
      );
    });
}

function statusCommand(program: Command, io: Io, readCloud: ReadCloud): void {
  program
    .command('status')
    .description(
      'per component: on this host (default) state, readiness, PID, uptime, restarts; on Kubernetes (-f FILE) ready/desired, image, age, blocked-by',
    )
    .addOption(cloudOption())
    .option('-f, --filename <file>', 'a cloud deployed to Kubernetes (osk apply): its status in the cluster')
    .option('--kubeconfig <file>', 'kubeconfig, with -f')
    .option('--context <name>', 'kubeconfig context, with -f')
    .addOption(outputOption())
    .action(async (opts) => {
      if (opts.filename) {
        const file = await readCloud(opts.filename, io);
        await kubeStatusCommand(io, file, {
          output: opts.output,
          ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
          ...(opts.context ? { context: opts.context } : {}),
        });
        return;
      }
      const { model, paths } = await openLocalCloud(await resolveCloudName(opts.cloud));
      const s = await localStatus(model, paths);
      if (opts.output === 'json') io.stdout(`${JSON.stringify(s, null, 2)}\n`);
      else if (opts.output === 'yaml') io.stdout(stringify(s));
      else io.stdout(statusTable(s));
      if (!s.healthy) throw new ExitStatus(ExitCode.failed);
    });
}

function logsCommand(program: Command): void {
  program
    .command('logs')
    .description('show the log of one component (e.g. nova-api, mariadb, keystone-db-sync)')
    .argument('<component>')
    .addOption(cloudOption())
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'lines from the end', '100')
    .action(async (component, opts) => {
      const name = await resolveCloudName(opts.cloud);
      const paths = statePaths(name);
      const log = join(paths.log, `${component}.log`);
      if (!existsSync(log)) {
        const { model } = await openLocalCloud(name);
        const known = [...model.components.values()].filter((c) => c.host && c.host.kind !== 'skip').map((c) => c.id);
        throw new OskError(`no log for "${component}" in ${paths.log}`, {
          exitCode: ExitCode.invalidInput,
          hint: `components with logs: ${known.join(', ')}`,
        });
      }
      await new Promise<void>((resolve) => {
        const p = spawn('tail', ['-n', String(Number(opts.lines) || 100), ...(opts.follow ? ['-F'] : []), log], {
          stdio: 'inherit',
        });
        p.on('close', () => resolve());
      });
    });
}

function envCommand(program: Command, io: Io): void {
  program
    .command('env')
    .description('print shell lines that point the openstack CLI at the cloud: eval "$(osk env)"')
    .addOption(cloudOption())
    .option('--demo', 'the demo user instead of admin')
    .action(async (opts) => {
      const name = await resolveCloudName(opts.cloud);
      io.stdout(envLines(statePaths(name), name, Boolean(opts.demo)));
    });
}

function rotateKeysCommand(program: Command, io: Io): void {
  program
    .command('rotate-keys')
    .description(
      "rotate the all-in-one cloud's Keystone fernet keys now (staged key becomes primary; live tokens stay valid; no restart)",
    )
    .addOption(cloudOption())
    .action(async (opts) => {
      const name = await resolveCloudName(opts.cloud);
      const r = await rotateLocalKeys(statePaths(name), 'osk rotate-keys');
      for (const x of r.rotated)
        io.stdout(`rotated ${x.set}: ${x.keys} keys in ${x.dir} (secret store updated first)\n`);
    });
}
