/**
 * The audit trail's Merkle tree, hashed as RFC 6962 / RFC 9162 say. Invariant: a leaf hash is
 * SHA-256(0x00 || leaf) and an interior node SHA-256(0x01 || left || right), with a tree of n
 * leaves split at the largest power of two below n; so the root at every size, and every
 * inclusion and consistency proof, is the one any RFC 6962 implementation computes from the
 * same leaves. The frontier (the roots of the perfect subtrees that make up the tree, largest
 * first) lets an append cost O(log n) hashes without reading any earlier leaf.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

/** A SHA-256 hash: 32 bytes. */
export type MerkleHash = Uint8Array;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const HASH_BYTES = 32;

/** The root of the empty tree: SHA-256 of no bytes. */
export const EMPTY_TREE_ROOT: MerkleHash = createHash('sha256').digest();

// The one-shot `crypto.hash` (Node >= 20.12) skips a Hash object per call, which costs more
// than hashing a 65-byte node; every append hashes a leaf and about one node. Its digest is
// taken as a latin1 ('binary') string (one char per byte) and copied into a Buffer from Node's pool:
// asking it for a Buffer allocates a fresh ArrayBuffer per hash, which cost as much as the
// hashing itself and showed as garbage collection in profiles of append and verify.
const oneShot: ((algorithm: string, data: string | Uint8Array, encoding: 'binary') => string) | undefined = (crypto as { hash?: (a: string, d: string | Uint8Array, e: 'binary') => string }).hash;
const nodeInput = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeInput[0] = 0x01;

/** A digest given as a latin1 string, as 32 bytes (a slice of Node's Buffer pool). */
function digestBytes(latin1: string): MerkleHash {
  const bytes = Buffer.allocUnsafe(HASH_BYTES);
  bytes.write(latin1, 0, HASH_BYTES, 'latin1');
  return bytes;
}

/** The hash of one leaf: SHA-256(0x00 || leaf). A string is hashed as its UTF-8 bytes. */
export function merkleLeafHash(leaf: Uint8Array | string): MerkleHash {
  // A string's leaf input is "\u0000" + leaf: U+0000 is the one byte 0x00 in UTF-8.
  if (oneShot !== undefined && typeof leaf === 'string') return digestBytes(oneShot('sha256', `\u0000${leaf}`, 'binary'));
  const hash = createHash('sha256').update(LEAF_PREFIX);
  if (typeof leaf === 'string') hash.update(leaf, 'utf8');
  else hash.update(leaf);
  return hash.digest();
}

/** The hash of an interior node: SHA-256(0x01 || left || right). */
export function merkleNodeHash(left: MerkleHash, right: MerkleHash): MerkleHash {
  if (oneShot !== undefined && left.length === HASH_BYTES && right.length === HASH_BYTES) {
    nodeInput.set(left, 1);
    nodeInput.set(right, 1 + HASH_BYTES);
    return digestBytes(oneShot('sha256', nodeInput, 'binary'));
  }
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Whether two hashes are the same bytes. */
export function sameHash(a: MerkleHash, b: MerkleHash): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** A tree's frontier, as persisted: its size and the roots of its perfect subtrees, largest first. */
export interface MerkleFrontierState {
  readonly size: number;
  readonly hashes: readonly MerkleHash[];
}

/** An append-only tree kept as its frontier: O(log n) hashes per append, O(log n) to read the root. */
export interface MerkleFrontier {
  /** The number of leaves. */
  readonly size: number;
  /**
   * Appends a leaf by its leaf hash. `onNode`, when given, is told every interior node the
   * append completes: its height (1 = two leaves), its index among the nodes of that height
   * (the node covers leaves index × 2^height to (index + 1) × 2^height − 1) and its hash.
   */
  append(leafHash: MerkleHash, onNode?: (height: number, index: number, hash: MerkleHash) => void): void;
  /**
   * Appends a whole perfect subtree of 2^height leaves by its root, as if its leaves were
   * appended one by one (to join trees rebuilt in parts); `onNode` is told the larger nodes the
   * subtree completes, as `append` tells them.
   * @throws RangeError unless the size is a multiple of 2^height (the subtree must be aligned).
   */
  appendSubtree(root: MerkleHash, height: number, onNode?: (height: number, index: number, hash: MerkleHash) => void): void;
  /** The root at the current size. */
  root(): MerkleHash;
  /** A copy of the state, to persist or to restart from. */
  state(): MerkleFrontierState;
}

/** The number of perfect subtrees in a tree of `size` leaves: the 1 bits of size. */
function bitCount(size: number): number {
  let count = 0;
  for (let s = size; s > 0; s = Math.floor(s / 2)) count += s % 2;
  return count;
}

/**
 * Starts a frontier, empty or from a persisted state.
 * @throws RangeError when the state's hash count does not match its size, or a hash is not 32 bytes.
 */
export function createMerkleFrontier(from: MerkleFrontierState = { size: 0, hashes: [] }): MerkleFrontier {
  if (!Number.isSafeInteger(from.size) || from.size < 0) throw new RangeError(`a Merkle tree size must be a whole number, not ${from.size}`);
  if (from.hashes.length !== bitCount(from.size)) throw new RangeError(`a frontier of size ${from.size} has ${bitCount(from.size)} hashes, not ${from.hashes.length}`);
  for (const h of from.hashes) if (h.length !== HASH_BYTES) throw new RangeError('a frontier hash must be 32 bytes');
  const stack: MerkleHash[] = [...from.hashes];
  let size = from.size;
  return {
    get size() { return size; },
    append(leafHash, onNode) {
      let hash = leafHash;
      let height = 0;
      for (let s = size; s % 2 === 1; s = (s - 1) / 2) {
        const left = stack.pop() as MerkleHash;
        hash = merkleNodeHash(left, hash);
        height += 1;
        if (onNode !== undefined) onNode(height, Math.floor(size / 2 ** height), hash);
      }
      stack.push(hash);
      size += 1;
    },
    appendSubtree(subtreeRoot, height, onNode) {
      const width = 2 ** height;
      if (!Number.isSafeInteger(width) || height < 0 || size % width !== 0) throw new RangeError(`a subtree of 2^${height} leaves cannot be appended to a tree of ${size} leaves: it would not be aligned`);
      let hash = subtreeRoot;
      let h = height;
      for (let s = size / width; s % 2 === 1; s = (s - 1) / 2) {
        hash = merkleNodeHash(stack.pop() as MerkleHash, hash);
        h += 1;
        if (onNode !== undefined) onNode(h, Math.floor(size / 2 ** h), hash);
      }
      stack.push(hash);
      size += width;
    },
    root() {
      let root = stack.at(-1);
      if (root === undefined) return EMPTY_TREE_ROOT;
      for (let i = stack.length - 2; i >= 0; i -= 1) root = merkleNodeHash(stack[i] as MerkleHash, root);
      return root;
    },
    state() {
      return { size, hashes: [...stack] };
    },
  };
}

/**
 * Appends to `frontier` the tree whose frontier is `part`, rebuilt apart from the leaves after
 * `frontier`'s (its subtrees, largest first, are appended whole).
 * @throws RangeError when `part`'s largest subtree would not be aligned at `frontier`'s size.
 */
export function appendFrontier(frontier: MerkleFrontier, part: MerkleFrontierState, onNode?: (height: number, index: number, hash: MerkleHash) => void): void {
  let bit = 1;
  while (bit * 2 <= part.size) bit *= 2;
  let i = 0;
  for (let height = Math.log2(bit); bit >= 1; bit /= 2, height -= 1) {
    if (part.size % (bit * 2) >= bit) frontier.appendSubtree(part.hashes[i++] as MerkleHash, height, onNode);
  }
}

/** The largest power of two below n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[start:end]) over leaf hashes. */
function rangeRoot(leaves: readonly MerkleHash[], start: number, end: number): MerkleHash {
  const n = end - start;
  if (n === 0) return EMPTY_TREE_ROOT;
  if (n === 1) return leaves[start] as MerkleHash;
  const k = splitPoint(n);
  return merkleNodeHash(rangeRoot(leaves, start, start + k), rangeRoot(leaves, start + k, end));
}

function checkSize(leaves: readonly MerkleHash[], size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > leaves.length) throw new RangeError(`tree size ${size} is not within the ${leaves.length} leaves given`);
}

/** The root of the tree of the first `size` leaf hashes (all of them by default). @throws RangeError for a size beyond the leaves. */
export function merkleRoot(leaves: readonly MerkleHash[], size: number = leaves.length): MerkleHash {
  checkSize(leaves, size);
  return rangeRoot(leaves, 0, size);
}

/**
 * The inclusion proof of leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1,
 * PATH(m, D[n])): sibling hashes from the leaf up.
 * @throws RangeError when index is not below size or size is beyond the leaves.
 */
export function inclusionProof(leaves: readonly MerkleHash[], index: number, size: number = leaves.length): MerkleHash[] {
  checkSize(leaves, size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  const path: MerkleHash[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) { walk(m, start, start + k); path.push(rangeRoot(leaves, start + k, end)); }
    else { walk(m - k, start + k, end); path.push(rangeRoot(leaves, start, start + k)); }
  };
  walk(index, 0, size);
  return path;
}

/**
 * The consistency proof between the trees of the first `first` and `second` leaves (RFC 9162
 * 2.1.4.1, PROOF(m, D[n])). Empty when first is 0 or equals second.
 * @throws RangeError unless 0 <= first <= second <= the leaves given.
 */
export function consistencyProof(leaves: readonly MerkleHash[], first: number, second: number = leaves.length): MerkleHash[] {
  checkSize(leaves, second);
  if (!Number.isSafeInteger(first) || first < 0 || first > second) throw new RangeError(`no consistency proof from size ${first} to size ${second}`);
  const proof: MerkleHash[] = [];
  if (first === 0 || first === second) return proof;
  const sub = (m: number, start: number, end: number, whole: boolean): void => {
    const n = end - start;
    if (m === n) { if (!whole) proof.push(rangeRoot(leaves, start, end)); return; }
    const k = splitPoint(n);
    if (m <= k) { sub(m, start, start + k, whole); proof.push(rangeRoot(leaves, start + k, end)); }
    else { sub(m - k, start + k, end, false); proof.push(rangeRoot(leaves, start, start + k)); }
  };
  sub(first, 0, second, true);
  return proof;
}

function isHash(value: unknown): value is MerkleHash {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}

/** The root an inclusion proof leads to (RFC 9162 2.1.3.2), or undefined if the proof has the wrong shape. */
export function rootFromInclusionProof(leafHash: MerkleHash, index: number, size: number, proof: readonly MerkleHash[]): MerkleHash | undefined {
  if (!isHash(leafHash) || !Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** Whether `proof` proves leaf `index` (by its leaf hash) is in the tree of `size` leaves with `root`. */
export function verifyInclusion(leafHash: MerkleHash, index: number, size: number, proof: readonly MerkleHash[], root: MerkleHash): boolean {
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  return computed !== undefined && isHash(root) && sameHash(computed, root);
}

/**
 * Whether `proof` proves the tree of `first` leaves with `firstRoot` is a prefix of the tree of
 * `second` leaves with `secondRoot` (RFC 9162 2.1.4.2). Equal sizes need an empty proof and
 * equal roots; the empty tree is a prefix of every tree.
 */
export function verifyConsistency(first: number, second: number, firstRoot: MerkleHash, secondRoot: MerkleHash, proof: readonly MerkleHash[]): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !proof.every(isHash)) return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0 && sameHash(firstRoot, EMPTY_TREE_ROOT);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) { fn = (fn - 1) / 2; sn = Math.floor(sn / 2); }
  let fr = path[0] as MerkleHash;
  let sr = path[0] as MerkleHash;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = merkleNodeHash(c, fr);
      sr = merkleNodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      sr = merkleNodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}

function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}
