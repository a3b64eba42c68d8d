/** Moved to support/ so the bench shares it without importing test code; tests keep this path. */
export * from '../../support/csi-client';
