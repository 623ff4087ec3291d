// RFC 9162 section 2.1 in a few lines, for tests and the gas bench: tree hashes and
// consistency proofs (2.1.4.1) over a leaf function. Independent of the C code on
// purpose, so the contract and the C client are checked against a second reading.
'use strict';
const crypto = require('crypto');

const sha256 = (...bufs) => {
  const h = crypto.createHash('sha256');
  for (const b of bufs) h.update(b);
  return h.digest();
};
const ONE = Buffer.from([1]);
const ZERO = Buffer.from([0]);
const leafHash = (data) => sha256(ZERO, data);
const nodeHash = (l, r) => sha256(ONE, l, r);
const largestPow2Below = (n) => { let k = 1n; while (k * 2n < n) k *= 2n; return k; };

// A tree whose leaf i is leafData(i). Sizes are BigInt so 2^40-leaf trees work when
// perfect subtrees are cheap (see uniform()).
class Tree {
  constructor(leafData, perfect) {
    this.leafData = leafData;
    this.perfect = perfect; // optional (lo, size) -> hash of a perfect subtree
    this.memo = new Map();
  }
  // MTH(D[lo:hi])
  mth(lo, hi) {
    const n = hi - lo;
    if (n === 1n) return leafHash(this.leafData(lo));
    const isPerfect = (n & (n - 1n)) === 0n;
    if (isPerfect && this.perfect) return this.perfect(lo, n);
    const key = isPerfect ? `${lo}:${hi}` : null;
    if (key && this.memo.has(key)) return this.memo.get(key);
    const k = largestPow2Below(n);
    const h = nodeHash(this.mth(lo, lo + k), this.mth(lo + k, hi));
    if (key) this.memo.set(key, h);
    return h;
  }
  root(n) { n = BigInt(n); return n === 0n ? sha256() : this.mth(0n, n); }
  subproof(m, lo, hi, b) {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    const k = largestPow2Below(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }
  consistency(m, n) {
    m = BigInt(m); n = BigInt(n);
    if (m === 0n || m === n) return [];
    return this.subproof(m, 0n, n, true);
  }
}

// Leaf i = its index as 8 big-endian bytes: distinct leaves, for small trees.
function indexed() {
  return new Tree((i) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(i)); return b; });
}

// Every leaf the same bytes: a genuine tree of any size whose perfect subtrees of one
// height all share a hash, so roots and proofs of 2^40-leaf trees cost O(log^2 n).
function uniform(data = Buffer.from('xordi-tlog bench leaf')) {
  const levels = [leafHash(data)];
  const t = new Tree(() => data, (lo, size) => {
    let l = 0; while ((1n << BigInt(l)) < size) l++;
    while (levels.length <= l) levels.push(nodeHash(levels[levels.length - 1], levels[levels.length - 1]));
    return levels[l];
  });
  return t;
}

module.exports = { sha256, leafHash, nodeHash, Tree, indexed, uniform };
