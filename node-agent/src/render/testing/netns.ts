/**
 * Normalisation of `nft list table` output for comparing two kernel states: chain and set
 * blocks sorted by name, set elements sorted (the kernel lists chains in creation order and
 * hash-set elements in hash order, neither of which is state). Pure: the test files run nft.
 */
export function normalizeNftListing(listing: string): string {
  const blocks: string[] = [];
  let current: string[] = [];
  let depth = 0;
  for (const line of listing.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    if (depth === 1 && /^(chain|set|map) /.test(trimmed)) current = [];
    if (depth >= 1) current.push(trimmed);
    depth += (trimmed.match(/\{/g) ?? []).length - (trimmed.match(/\}/g) ?? []).length;
    if (depth === 1 && current.length && /^\}$/.test(trimmed)) {
      blocks.push(normalizeBlock(current.join(' ')));
      current = [];
    }
  }
  return blocks.sort().join('\n');
}

function normalizeBlock(block: string): string {
  return block.replace(/elements = \{([^}]*)\}/, (_, inner: string) =>
    `elements = { ${inner.split(',').map((e) => e.trim()).filter(Boolean).sort().join(', ')} }`);
}
