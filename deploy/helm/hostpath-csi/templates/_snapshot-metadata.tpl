{{/* "true" when the SnapshotMetadata service is deployed: asked for, and the single-node form. */}}
{{- define "hostpath-csi.snapshotMetadata" -}}
{{- if and .Values.snapshotMetadata.enabled (eq .Values.form "single-node") -}}true{{- end -}}
{{- end -}}

{{- define "hostpath-csi.snapshotMetadataSecret" -}}
{{- default (printf "%s-snapshot-metadata-tls" (include "hostpath-csi.fullname" .)) .Values.snapshotMetadata.tls.secretName -}}
{{- end -}}

{{/* The Service's DNS name: the SnapshotMetadataService address and the name the certificate must carry. */}}
{{- define "hostpath-csi.snapshotMetadataHost" -}}
{{- printf "%s-snapshot-metadata.%s" (include "hostpath-csi.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The csi-snapshot-metadata container (external-snapshot-metadata), beside the driver in the single-node pod. */}}
{{- define "hostpath-csi.snapshotMetadataContainer" -}}
- name: csi-snapshot-metadata
  image: {{ .Values.sidecars.snapshotMetadata.image }}
  imagePullPolicy: {{ .Values.sidecars.pullPolicy }}
  args:
    - --csi-address=/csi/csi.sock
    # Serves the Kubernetes SnapshotMetadata API over TLS on :50051 (the snapshot-metadata Service).
    - --port=50051
    - --tls-cert=/tls/tls.crt
    - --tls-key=/tls/tls.key
    - --audience={{ .Values.snapshotMetadata.audience }}
    - --v=2
  ports:
    - name: snapshot-meta
      containerPort: 50051
      protocol: TCP
  {{- include "hostpath-csi.resources" .Values.sidecars.snapshotMetadata.resources | nindent 2 }}
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
    - name: snapshot-metadata-tls
      mountPath: /tls
      readOnly: true
{{- end -}}
