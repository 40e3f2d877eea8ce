import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_TREE_ROOT, appendFrontier, consistencyProof, createMerkleFrontier, inclusionProof, merkleLeafHash, merkleNodeHash, merkleRoot,
  rootFromInclusionProof, verifyConsistency, verifyInclusion, type MerkleHash,
} from './merkle.js';

const hex = (h: Uint8Array): string => Buffer.from(h).toString('hex');
const unhex = (s: string): Uint8Array => Buffer.from(s, 'hex');

// The reference tree of RFC 6962's reference implementation (Certificate Transparency's test
// data): eight leaves and the root at every size.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']
  .map((h) => merkleLeafHash(unhex(h)));
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const CT_CONSISTENCY = [
  { first: 2, second: 8, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { first: 6, second: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

const leavesOf = (n: number): MerkleHash[] => Array.from({ length: n }, (_, i) => merkleLeafHash(`event ${i}`));

function flipped(hash: MerkleHash, byte = 0): MerkleHash {
  const copy = Uint8Array.from(hash);
  copy[byte] = (copy[byte] ?? 0) ^ 1;
  return copy;
}

describe('RFC 6962 hashing', () => {
  it('prefixes leaves with 0x00 and nodes with 0x01', () => {
    expect(hex(merkleLeafHash(new Uint8Array()))).toBe(CT_ROOTS[1]);
    expect(hex(merkleLeafHash('a'))).toBe(hex(merkleLeafHash(Uint8Array.of(0x61))));
    const l = merkleLeafHash('l');
    const r = merkleLeafHash('r');
    expect(hex(merkleNodeHash(l, r))).not.toBe(hex(merkleNodeHash(r, l)));
    expect(hex(EMPTY_TREE_ROOT)).toBe(CT_ROOTS[0]);
  });

  it('gives the reference roots at every size 0..8', () => {
    for (let n = 0; n <= 8; n += 1) expect(hex(merkleRoot(CT_LEAVES, n)), `size ${n}`).toBe(CT_ROOTS[n]);
  });

  it('gives the reference inclusion proofs, and they verify', () => {
    for (const v of CT_INCLUSION) {
      expect(inclusionProof(CT_LEAVES, v.index, v.size).map(hex)).toEqual(v.proof);
      expect(verifyInclusion(CT_LEAVES[v.index] as MerkleHash, v.index, v.size, v.proof.map(unhex), unhex(CT_ROOTS[v.size] as string))).toBe(true);
    }
  });

  it('gives the reference consistency proofs, and they verify', () => {
    for (const v of CT_CONSISTENCY) {
      expect(consistencyProof(CT_LEAVES, v.first, v.second).map(hex)).toEqual(v.proof);
      expect(verifyConsistency(v.first, v.second, unhex(CT_ROOTS[v.first] as string), unhex(CT_ROOTS[v.second] as string), v.proof.map(unhex))).toBe(true);
    }
  });

  it('refuses sizes and indexes outside the tree', () => {
    expect(() => merkleRoot(CT_LEAVES, 9)).toThrow(RangeError);
    expect(() => inclusionProof(CT_LEAVES, 8, 8)).toThrow(RangeError);
    expect(() => consistencyProof(CT_LEAVES, 5, 3)).toThrow(RangeError);
    expect(rootFromInclusionProof(CT_LEAVES[0] as MerkleHash, 8, 8, [])).toBeUndefined();
    expect(verifyConsistency(8, 6, EMPTY_TREE_ROOT, EMPTY_TREE_ROOT, [])).toBe(false);
  });

  it('does not let a proof claim a bigger tree than it covers', () => {
    // Leaf 0's proof in the tree of 2 leads to that tree's root; claimed for size 3, it must fail.
    const root2 = merkleRoot(CT_LEAVES, 2);
    const proof = inclusionProof(CT_LEAVES, 0, 2);
    expect(verifyInclusion(CT_LEAVES[0] as MerkleHash, 0, 2, proof, root2)).toBe(true);
    expect(verifyInclusion(CT_LEAVES[0] as MerkleHash, 0, 3, proof, root2)).toBe(false);
  });

  it('treats the degenerate consistency cases as RFC 9162 does', () => {
    const root4 = merkleRoot(CT_LEAVES, 4);
    const root8 = merkleRoot(CT_LEAVES, 8);
    expect(verifyConsistency(4, 4, root4, root4, [])).toBe(true);
    expect(verifyConsistency(4, 4, root4, root8, [])).toBe(false);
    expect(verifyConsistency(4, 4, root4, root4, [root4])).toBe(false);
    expect(verifyConsistency(0, 8, EMPTY_TREE_ROOT, root8, [])).toBe(true);
    expect(verifyConsistency(0, 8, root4, root8, [])).toBe(false);
    expect(verifyConsistency(4, 8, root4, root8, [])).toBe(false);
  });
});

describe('the frontier', () => {
  it('matches the reference roots as it grows, and restarts from its state', () => {
    const frontier = createMerkleFrontier();
    expect(hex(frontier.root())).toBe(CT_ROOTS[0]);
    CT_LEAVES.forEach((leaf, i) => {
      frontier.append(leaf);
      expect(hex(frontier.root()), `size ${i + 1}`).toBe(CT_ROOTS[i + 1]);
      const again = createMerkleFrontier(frontier.state());
      expect(hex(again.root())).toBe(CT_ROOTS[i + 1]);
    });
  });

  it('keeps one hash per 1 bit of its size', () => {
    const frontier = createMerkleFrontier();
    for (const leaf of leavesOf(13)) frontier.append(leaf);
    expect(frontier.state().hashes).toHaveLength(3);
    expect(() => createMerkleFrontier({ size: 13, hashes: [] })).toThrow(/13 has 3 hashes/);
  });

  it('tells every interior node it completes, each the root of its aligned range of leaves', () => {
    const leaves = leavesOf(37);
    const frontier = createMerkleFrontier();
    const nodes: [number, number, string][] = [];
    for (const leaf of leaves) frontier.append(leaf, (height, index, hash) => nodes.push([height, index, hex(hash)]));
    // A tree of 37 leaves has 18 + 9 + 4 + 2 + 1 complete nodes of heights 1 to 5.
    expect(nodes).toHaveLength(34);
    for (const [height, index, hash] of nodes) {
      const width = 2 ** height;
      expect(hash, `node ${height}/${index}`).toBe(hex(merkleRoot(leaves.slice(index * width, (index + 1) * width))));
    }
    expect(nodes.filter(([h]) => h === 5)).toEqual([[5, 0, hex(merkleRoot(leaves.slice(0, 32)))]]);
  });

  it('joins a tree rebuilt in aligned parts into the tree of all its leaves, telling every node it completes (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 }), (first, blocks, log) => {
      const width = 2 ** log;
      const start = Math.ceil(first / width) * width;
      const leaves = leavesOf(start + blocks * width + (first % width));
      // Every completed node, as appending leaf by leaf tells them, and as parts and joins tell them.
      const key = (height: number, index: number, hash: MerkleHash): string => `${height}/${index}/${hex(hash)}`;
      const expected: string[] = [];
      const oneByOne = createMerkleFrontier();
      for (const leaf of leaves) oneByOne.append(leaf, (h, i, hash) => expected.push(key(h, i, hash)));
      const told: string[] = [];
      const whole = createMerkleFrontier();
      for (const leaf of leaves.slice(0, start)) whole.append(leaf, (h, i, hash) => told.push(key(h, i, hash)));
      // Each later part starts at a multiple of its width and is no longer than it.
      for (let at = start; at < leaves.length; at += width) {
        const part = createMerkleFrontier();
        for (const leaf of leaves.slice(at, at + width)) part.append(leaf, (h, i, hash) => told.push(key(h, i + at / 2 ** h, hash)));
        appendFrontier(whole, part.state(), (h, i, hash) => told.push(key(h, i, hash)));
      }
      return whole.size === leaves.length && hex(whole.root()) === hex(merkleRoot(leaves)) && JSON.stringify([...told].sort()) === JSON.stringify([...expected].sort());
    }), { numRuns: 80 });
    const tree = createMerkleFrontier();
    tree.append(leavesOf(1)[0] as MerkleHash);
    expect(() => tree.appendSubtree(EMPTY_TREE_ROOT, 1)).toThrow(/not be aligned/);
  });

  it('agrees with the recursive definition at every size (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
      const leaves = leavesOf(n);
      const frontier = createMerkleFrontier();
      for (const leaf of leaves) frontier.append(leaf);
      return hex(frontier.root()) === hex(merkleRoot(leaves));
    }), { numRuns: 60 });
  });
});

describe('proofs (properties)', () => {
  const sized = fc.integer({ min: 1, max: 200 }).chain((size) => fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }));

  it('every inclusion proof verifies, and a changed leaf, proof or root does not', () => {
    fc.assert(fc.property(sized, fc.nat(), ({ size, index }, pick) => {
      const leaves = leavesOf(size);
      const root = merkleRoot(leaves);
      const proof = inclusionProof(leaves, index, size);
      const leaf = leaves[index] as MerkleHash;
      expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
      expect(verifyInclusion(merkleLeafHash('changed'), index, size, proof, root)).toBe(false);
      expect(verifyInclusion(leaf, index, size, proof, flipped(root))).toBe(false);
      if (proof.length > 0) {
        const at = pick % proof.length;
        expect(verifyInclusion(leaf, index, size, proof.map((p, i) => (i === at ? flipped(p, 31) : p)), root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof.slice(0, -1), root)).toBe(false);
      }
      expect(verifyInclusion(leaf, index, size, [...proof, root], root)).toBe(false);
      if (size > 1) expect(verifyInclusion(leaf, (index + 1) % size, size, proof, root)).toBe(false);
    }), { numRuns: 200 });
  });

  it('consistency between any two sizes verifies, and breaks when any earlier leaf changes', () => {
    const pair = fc.integer({ min: 1, max: 150 }).chain((second) => fc.record({ second: fc.constant(second), first: fc.integer({ min: 1, max: second }), changed: fc.integer({ min: 0, max: second - 1 }) }));
    fc.assert(fc.property(pair, ({ first, second, changed }) => {
      const leaves = leavesOf(second);
      const proof = consistencyProof(leaves, first, second);
      const firstRoot = merkleRoot(leaves, first);
      const secondRoot = merkleRoot(leaves, second);
      expect(verifyConsistency(first, second, firstRoot, secondRoot, proof)).toBe(true);
      // A tree whose leaf `changed` was rewritten, with its own fresh proof, is not a continuation.
      const forged = leaves.map((leaf, i) => (i === changed ? merkleLeafHash('forged') : leaf));
      const forgedRoot = merkleRoot(forged, second);
      const forgedProof = consistencyProof(forged, first, second);
      if (changed < first) expect(verifyConsistency(first, second, firstRoot, forgedRoot, forgedProof)).toBe(false);
      else expect(verifyConsistency(first, second, firstRoot, forgedRoot, forgedProof)).toBe(true);
      if (proof.length > 0) {
        expect(verifyConsistency(first, second, firstRoot, secondRoot, proof.map((p, i) => (i === 0 ? flipped(p) : p)))).toBe(false);
        expect(verifyConsistency(first, second, firstRoot, secondRoot, proof.slice(1))).toBe(false);
      }
    }), { numRuns: 200 });
  });
});
