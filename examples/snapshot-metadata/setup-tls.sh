#!/usr/bin/env bash
# Makes the TLS material the kustomize component deploy/kubernetes/components/snapshot-metadata needs, and the
# SnapshotMetadataService object that tells backup clients where the driver's SnapshotMetadata API is and which CA
# signed its certificate (docs/snapshot-metadata.md). The Helm chart does this itself (snapshotMetadata.enabled).
# Needs openssl and kubectl, the SnapshotMetadataService CRD installed, and the namespace hostpath-csi.
# Usage: examples/snapshot-metadata/setup-tls.sh [driver-name]   (default hostpath.csi.dev)
# Needs no network (openssl makes everything locally); the local-cluster case 19-snapshot-metadata runs it as is.
set -euo pipefail
driver=${1:-hostpath.csi.dev}
ns=hostpath-csi
host=hostpath-csi-snapshot-metadata.$ns
audience=hostpath-csi-snapshot-metadata
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=hostpath-csi-snapshot-metadata-ca" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=$host" -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.svc\n' "$host" "$host" > "$dir/san.ext"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
  -extfile "$dir/san.ext" -out "$dir/tls.crt" 2>/dev/null

kubectl -n "$ns" create secret tls hostpath-csi-snapshot-metadata-tls --cert="$dir/tls.crt" --key="$dir/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f - <<YAML
apiVersion: cbt.storage.k8s.io/v1alpha1
kind: SnapshotMetadataService
metadata:
  name: $driver
spec:
  address: $host:6443
  caCert: $(base64 -w0 < "$dir/ca.crt")
  audience: $audience
YAML
