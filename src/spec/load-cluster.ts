/** Cluster file text → the validated ClusterFile: the cloud file's loader (load.ts) with the cluster's schema. */
import { parseOskDocument, type DocumentKind } from './load.js';
import { CLUSTER_KIND, clusterFileSchema, clusterProblems, type ClusterFile } from './schema-cluster.js';

const CLUSTER_DOCUMENT: DocumentKind<ClusterFile> = {
  kind: CLUSTER_KIND,
  schema: clusterFileSchema,
  crossField: clusterProblems,
  example: 'examples/cluster.yaml',
};

export function parseClusterFile(text: string, file = '<input>'): ClusterFile {
  return parseOskDocument(CLUSTER_DOCUMENT, text, file);
}
