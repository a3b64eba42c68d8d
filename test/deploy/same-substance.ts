import { expect } from 'vitest';
import { key, substance, type K8sObject } from './manifests';

/** The helm rendering and the kustomize one hold the same objects with the same content (labels aside). */
export function expectSameSubstance(fromHelm: K8sObject[], fromKustomize: K8sObject[]): void {
  // The chart leaves the namespace to `helm install --namespace` (docs/kubernetes.md); kustomize creates it.
  const k = fromKustomize.filter((o) => o.kind !== 'Namespace');
  expect(fromHelm.map(key).sort()).toEqual(k.map(key).sort());
  const byKey = new Map(k.map((o) => [key(o), o]));
  for (const o of fromHelm) expect(substance(o), key(o)).toEqual(substance(byKey.get(key(o))!));
}
