import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The one pin of the runtime: the image's node and the node CI runs the unit tests under. */
const pinned = readFileSync(new URL('node-version', import.meta.url), 'utf8').trim();
const major = Number(pinned.split('.')[0]);

describe('the Node.js runtime pin (tools/image/node-version)', () => {
  it('is an exact LTS version (even major)', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(major % 2).toBe(0);
  });

  it('matches the major the Dockerfile builds and runs on', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
    expect(bases.length).toBeGreaterThan(0);
    expect(new Set(bases)).toEqual(new Set([major]));
  });

  it('runs with the node options of tools/image/node-options in both image builds', () => {
    const options = readFileSync(new URL('node-options', import.meta.url), 'utf8').trim();
    expect(options).toContain('--conditions=natplan-dist');
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(/^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1]).toBe(options);
    const build = readFileSync(new URL('build.sh', import.meta.url), 'utf8');
    expect(build).toContain('NODE_OPTIONS="$(tr -d \'\\n\' < "$repo/tools/image/node-options")"');
  });

  it('is admitted by package.json engines', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    const bound = /^>=(\d+)(?:\.(\d+))?$/.exec(pkg.engines.node);
    expect(bound, 'engines.node is one lower bound').not.toBeNull();
    const [minMajor, minMinor] = [Number(bound![1]), Number(bound![2] ?? 0)];
    const [pinMajor, pinMinor] = pinned.split('.').map(Number) as [number, number];
    expect(pinMajor > minMajor || (pinMajor === minMajor && pinMinor >= minMinor)).toBe(true);
  });

  // tools/test.sh sets NATPLAN_EXPECT_NODE when it runs the unit tests under the pinned
  // binary: this proves they really ran on it, not on the machine's own node.
  it.runIf(process.env.NATPLAN_EXPECT_NODE)('runs under the expected node when asked', () => {
    expect(process.version).toBe(process.env.NATPLAN_EXPECT_NODE);
  });
});
