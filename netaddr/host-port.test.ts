import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHostPort } from './index.js';

describe('host:port', () => {
  it.each([
    ['0.0.0.0:9090', { host: '0.0.0.0', port: 9090 }],
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['[::1]:10261', { host: '::1', port: 10261 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['x', undefined], ['a:70000', undefined], ['a:', undefined], ['a: 80', undefined], ['a:8e3', undefined],
  ])('parseHostPort(%j)', (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });

  it.each([['10.244.1.5', 8080, '10.244.1.5:8080'], ['fd00:10:244::5', 53, '[fd00:10:244::5]:53'], ['node-a', 1, 'node-a:1']])(
    'formatHostPort(%j, %d) = %j, which parses back', (host, port, text) => {
      expect(formatHostPort(host, port)).toBe(text);
      expect(parseHostPort(text)).toEqual({ host, port });
    });
});
