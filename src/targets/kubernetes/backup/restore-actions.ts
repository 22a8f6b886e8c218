/** The actions of a restore step, and what an operator would type for each (`--dry-run`). */
import { toPlainYaml } from '../../../plain-yaml.js';
import type { Job } from '../k8s.js';

/**
 * One thing a restore step does, as data: `restore-run.ts` carries it out through the API
 * server, `commandsOf` prints what an operator would type for it (kubectl, velero, osk).
 */
export type RestoreAction =
  | { do: 'velero-backup'; name: string; namespace: string }
  | { do: 'velero-restore'; name: string; backup: string; namespace: string }
  | { do: 'job'; job: Job; timeoutSeconds: number }
  | { do: 'suspend-cronjobs'; names: string[]; suspend: boolean }
  | {
      do: 'scale';
      kind: 'Deployment' | 'StatefulSet';
      names: string[];
      replicas: number;
      podSelector: string;
      timeoutSeconds: number;
    }
  | { do: 'delete-claims'; names: string[] }
  | { do: 'rollout'; statefulSet: string; timeoutSeconds: number }
  | { do: 'apply' }
  | { do: 'status' }
  | { do: 'job-from-cronjob'; cronJob: string; name: string; timeoutSeconds: number };

function heredoc(cmd: string, obj: Job): string {
  return `${cmd} <<'EOF'\n${toPlainYaml(obj).trimEnd()}\nEOF`;
}

/** What an operator would type for one action; the runner does the same through the API. */
export function commandsOf(a: RestoreAction, ns: string, cloudFile: string): string[] {
  switch (a.do) {
    case 'velero-backup':
      return [`velero backup create ${a.name} --include-namespaces ${a.namespace} --snapshot-volumes --wait`];
    case 'velero-restore':
      return [
        `velero restore create ${a.name} --from-backup ${a.backup} --include-namespaces ${a.namespace} --restore-volumes=true --wait`,
        `velero restore describe ${a.name} --details`,
      ];
    case 'job': {
      const name = a.job.metadata!.name!;
      return [
        `kubectl -n ${ns} delete job ${name} --ignore-not-found --wait`,
        heredoc('kubectl apply -f -', a.job),
        `kubectl -n ${ns} wait --for=condition=complete job/${name} --timeout=${a.timeoutSeconds}s`,
        `kubectl -n ${ns} logs job/${name}`,
      ];
    }
    case 'suspend-cronjobs':
      return [
        `kubectl -n ${ns} patch cronjob ${a.names.join(' ')} --type merge -p '{"spec":{"suspend":${a.suspend}}}'`,
      ];
    case 'scale':
      return [
        `kubectl -n ${ns} scale ${a.kind.toLowerCase()} ${a.names.join(' ')} --replicas=${a.replicas}`,
        ...(a.replicas === 0
          ? [`kubectl -n ${ns} wait --for=delete pod -l '${a.podSelector}' --timeout=${a.timeoutSeconds}s`]
          : []),
      ];
    case 'delete-claims':
      return [`kubectl -n ${ns} delete pvc ${a.names.join(' ')} --wait`];
    case 'rollout':
      return [`kubectl -n ${ns} rollout status statefulset/${a.statefulSet} --timeout=${a.timeoutSeconds}s`];
    case 'apply':
      return [`osk apply -f ${cloudFile}`];
    case 'status':
      return [`osk status -f ${cloudFile}`];
    case 'job-from-cronjob':
      return [
        `kubectl -n ${ns} create job --from=cronjob/${a.cronJob} ${a.name}`,
        `kubectl -n ${ns} wait --for=condition=complete job/${a.name} --timeout=${a.timeoutSeconds}s`,
      ];
  }
}
