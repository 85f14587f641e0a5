import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';

/**
 * Owner proofs. Each lease gets its own Ed25519 key pair at acquisition: the public key goes into
 * the lease record, the private key stays in the holder's state folder. A renew or release is
 * signed over the ticket it claims, so what it reveals (a signature) lets nobody else sign the
 * next step, and a copied machine id or holder name is worth nothing.
 */
export interface KeyPair {
  /** SPKI DER, base64: goes into the record. */
  readonly publicKey: string;
  /** PKCS#8 DER, base64: the secret kept by the holder. */
  readonly privateKey: string;
}

/** A fresh key pair for a new lease. */
export function newLeaseKey(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
  };
}

/** Signs `text` with a private key from {@link newLeaseKey}. */
export function signProof(privateKey: string, text: string): string {
  const key = createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  return sign(null, Buffer.from(text, 'utf8'), key).toString('base64');
}

/** True when `sig` is `publicKey`'s signature of `text`; false for anything malformed. */
export function checkProof(publicKey: string, text: string, sig: string | undefined): boolean {
  if (!sig) return false;
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

/** The public key belonging to a private key (to check that a stored secret fits a lease). */
export function publicKeyOf(privateKey: string): string | undefined {
  try {
    const key = createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' });
    return createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
  } catch {
    return undefined;
  }
}

/** Where a holder keeps the private keys of its leases, by lock id. */
export interface KeyStore {
  get(lockId: string): string | undefined;
  set(lockId: string, privateKey: string): void;
  delete(lockId: string): void;
}

/** A {@link KeyStore} in memory (tests, and programs that never outlive their locks). */
export function memoryKeyStore(): KeyStore {
  const keys = new Map<string, string>();
  return {
    get: (lockId) => keys.get(lockId),
    set: (lockId, key) => void keys.set(lockId, key),
    delete: (lockId) => void keys.delete(lockId),
  };
}
