import { describe, expect, it } from 'vitest';
import { FakeExec } from '../exec/index.js';
import { findGateway, parseDefaultGateway } from './discover.js';

// Addresses: a node LAN 172.18.0.0/24 with its router at .254.
describe('the gateway to ask', () => {
  it.each([
    ['the IPv4 default route', '[{"dst":"default","gateway":"172.18.0.254","dev":"eth0","flags":[]}]', '172.18.0.254'],
    ['no default route', '[]', undefined],
    ['empty output', '', undefined],
    ['a default route without a next hop (a point-to-point link)', '[{"dst":"default","dev":"ppp0","flags":[]}]', undefined],
    ['the first of two', '[{"dst":"default","gateway":"172.18.0.254"},{"dst":"default","gateway":"172.18.0.253"}]', '172.18.0.254'],
    ['not JSON', 'default via 172.18.0.254', undefined],
  ])('%s', (_name, output, expected) => {
    expect(parseDefaultGateway(output)).toBe(expected);
  });

  it('auto reads the route through the exec boundary; an address is taken as given', async () => {
    const exec = new FakeExec();
    exec.on('ip -4 -j route show default', { stdout: '[{"dst":"default","gateway":"172.18.0.254"}]' });
    expect(await findGateway(exec, 'auto')).toBe('172.18.0.254');
    expect(await findGateway(exec, '172.18.0.1')).toBe('172.18.0.1');
    expect(exec.calls.length).toBe(1);
  });
});
