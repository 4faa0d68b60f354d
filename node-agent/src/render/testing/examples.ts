/** The CRD examples as renderer input (node-a's view), for goldens. Pure: takes the file texts. */
import { parse } from 'yaml';
import type { RenderInput } from '../plan.js';

export const EXAMPLE_SERVICE_FILES = ['servicenatplan-web.yaml', 'servicenatplan-web-part1.yaml', 'servicenatplan-local-lb.yaml'];
export const EXAMPLE_NODE_FILE = 'nodenatplan-node-a.yaml';

export function examplesInput(read: (file: string) => string): RenderInput {
  const load = (file: string) => parse(read(file)) as { metadata: { name: string; namespace?: string }; spec: never };
  const node = load(EXAMPLE_NODE_FILE);
  return {
    node: node.spec,
    services: EXAMPLE_SERVICE_FILES.map((file) => {
      const o = load(file);
      return { namespace: o.metadata.namespace ?? 'default', name: o.metadata.name, spec: o.spec };
    }),
    identity: { nodeName: 'node-a', zone: 'zone-1' },
  };
}
