/**
 * Golden files for the rendered scripts. Regenerate after an intended change with
 *   UPDATE_GOLDEN=1 npx vitest run --project unit node-agent/src/render/golden.test.ts
 * and review the diff like code.
 */
// eslint-disable-next-line pure-core/no-impure-imports -- test-only: goldens and CRD examples are files
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderIptables } from './iptables-render.js';
import { nftFullSyncScript } from './nft-sync.js';
import { renderNftables } from './nft-render.js';
import type { RenderInput } from './plan.js';
import { examplesInput } from './testing/examples.js';
import { scenarioInput } from './testing/scenario.js';

// eslint-disable-next-line no-restricted-globals -- test-only: the documented update flag
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const crdExample = (file: string): string => readFileSync(new URL(`../../../crds/examples/${file}`, import.meta.url), 'utf8');

function golden(name: string, actual: string): void {
  const url = new URL(`./testdata/${name}`, import.meta.url);
  if (UPDATE) writeFileSync(url, actual);
  expect(actual).toEqual(readFileSync(url, 'utf8'));
}

const CASES: [string, () => RenderInput][] = [
  ['crd-examples', () => examplesInput(crdExample)],
  ['scenario', () => scenarioInput()],
];

describe('goldens', () => {
  it.each(CASES)('%s.nft', (name, input) => {
    golden(`${name}.nft`, nftFullSyncScript(renderNftables(input())));
  });
  it.each(CASES)('%s.iptables', (name, input) => {
    const { IPv4: ipv4, IPv6: ipv6 } = renderIptables(input());
    golden(`${name}.iptables`, `# ipv4\n${ipv4}# ipv6\n${ipv6}`);
  });
});
