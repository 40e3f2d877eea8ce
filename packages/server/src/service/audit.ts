/** Audit use cases shared by the API and the CLI: verifying the stored chain. */
import { createChainVerifier, type ChainVerification } from '@portcullis/core';
import type { Store } from '../store/store.js';

/**
 * Verifies the store's chain from its anchor (genesis or the last retention checkpoint) to
 * its recorded head, streaming in batches. `onProgress` is called with the count verified.
 */
export async function verifyStoredChain(store: Store, onProgress?: (verified: number) => void): Promise<ChainVerification> {
  const [anchor, head] = await Promise.all([store.auditAnchor(), store.auditHead()]);
  const verifier = createChainVerifier(anchor);
  let seen = 0;
  for await (const event of store.readAuditChain(5000)) {
    if (verifier.push(event) !== undefined) break;
    seen += 1;
    if (onProgress !== undefined && seen % 100_000 === 0) onProgress(seen);
  }
  return verifier.finish(head);
}
