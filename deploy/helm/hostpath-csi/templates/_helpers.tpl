{{/*
The prefix of every object name, so two releases (in their own namespaces, with different driverName values) never
share a cluster-scoped name. "hostpath-csi" for a release named hostpath-csi (what the kustomize forms use), else
<release>-hostpath-csi; fullnameOverride replaces it, nameOverride replaces the chart name in it.
*/}}
{{- define "hostpath-csi.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries; the component is the caller's. Usage: include "hostpath-csi.labels" (list . "plugin") */}}
{{- define "hostpath-csi.labels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: hostpath-csi
app.kubernetes.io/part-of: hostpath-csi
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version }}
{{- end -}}

{{/* Checks the values that would otherwise render a broken deployment. */}}
{{- define "hostpath-csi.validate" -}}
{{- if not (has .Values.form (list "single-node" "distributed")) -}}
{{- fail (printf "form must be single-node or distributed, not %q" .Values.form) -}}
{{- end -}}
{{- if not (hasPrefix "/" .Values.kubeletDir) -}}
{{- fail "kubeletDir must be an absolute path" -}}
{{- end -}}
{{- if not (hasPrefix "/" .Values.dataDir) -}}
{{- fail "dataDir must be an absolute path" -}}
{{- end -}}
{{- $roots := dict -}}
{{- range .Values.volumeRoots -}}
{{- if hasKey $roots .key -}}{{- fail (printf "volumeRoots: key %s is given twice" .key) -}}{{- end -}}
{{- $_ := set $roots .key true -}}
{{- end -}}
{{- if and .Values.pinToNode (ne .Values.form "single-node") -}}
{{- fail "pinToNode applies to the single-node form only (the distributed form runs on every node)" -}}
{{- end -}}
{{- end -}}

{{/* "true" when the driver serves ControllerPublish: asked for, and the single-node form (no per-node attacher). */}}
{{- define "hostpath-csi.attach" -}}
{{- if and .Values.attach (eq .Values.form "single-node") -}}true{{- end -}}
{{- end -}}

{{- define "hostpath-csi.kubeletDir" -}}
{{- trimSuffix "/" .Values.kubeletDir -}}
{{- end -}}

{{/* Host directory holding the driver's socket; kubelet finds the socket there. */}}
{{- define "hostpath-csi.socketDir" -}}
{{- printf "%s/plugins/%s" (include "hostpath-csi.kubeletDir" .) .Values.driverName -}}
{{- end -}}

{{- define "hostpath-csi.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* A sidecar container's resources, indented for a container. Usage: include "hostpath-csi.resources" .Values.sidecars.attacher.resources */}}
{{- define "hostpath-csi.resources" -}}
{{- with . }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A sidecar container that only needs the socket, with its metrics port (name and offset from metrics.port) when
metrics are on, and optionally env variables taken from the pod (NAMESPACE, POD_NAME, NODE_NAME).
Usage: include "hostpath-csi.sidecar" (list . "csi-attacher" .Values.sidecars.attacher (list "--extra") "metrics-attach" 2 [(list "POD_NAME")])
*/}}
{{- define "hostpath-csi.sidecar" -}}
{{- $ := index . 0 -}}
{{- $sidecar := index . 2 }}
- name: {{ index . 1 }}
  image: {{ $sidecar.image }}
  imagePullPolicy: {{ $.Values.sidecars.pullPolicy }}
  args:
    - --csi-address=/csi/csi.sock
    {{- range index . 3 }}
    - {{ . }}
    {{- end }}
    {{- include "hostpath-csi.sidecarMetricsArg" (list $ (index . 5)) | nindent 4 }}
    - --v={{ $.Values.sidecarLogVerbosity }}
  {{- if gt (len .) 6 }}
  env:
    {{- $fieldPaths := dict "NAMESPACE" "metadata.namespace" "POD_NAME" "metadata.name" "NODE_NAME" "spec.nodeName" }}
    {{- range index . 6 }}
    - name: {{ . }}
      valueFrom:
        fieldRef:
          fieldPath: {{ required (printf "no fieldRef for env %s" .) (get $fieldPaths .) }}
    {{- end }}
  {{- end }}
  {{- include "hostpath-csi.sidecarMetricsPort" (list $ (index . 4) (index . 5)) | nindent 2 }}
  {{- include "hostpath-csi.resources" $sidecar.resources | nindent 2 }}
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
{{- end -}}

{{/* A sidecar's --http-endpoint (metrics and leader-election health), when metrics are on. Usage: (list . offset) */}}
{{- define "hostpath-csi.sidecarMetricsArg" -}}
{{- $ := index . 0 -}}
{{- if $.Values.metrics.enabled -}}
# Prometheus metrics on /metrics (docs/observability.md).
- --http-endpoint=:{{ add $.Values.metrics.port (index . 1) }}
{{- end -}}
{{- end -}}

{{/* A sidecar's named metrics port, when metrics are on. Usage: (list . "metrics-prov" offset) */}}
{{- define "hostpath-csi.sidecarMetricsPort" -}}
{{- $ := index . 0 -}}
{{- if $.Values.metrics.enabled -}}
ports:
  - name: {{ index . 1 }}
    containerPort: {{ add $.Values.metrics.port (index . 2) }}
    protocol: TCP
{{- end -}}
{{- end -}}

{{/* The driver container, the same in both forms except for --enable-attach. */}}
{{- define "hostpath-csi.driverContainer" -}}
{{- $kubelet := include "hostpath-csi.kubeletDir" . -}}
- name: hostpath-csi
  image: {{ include "hostpath-csi.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - --endpoint=unix:///csi/csi.sock
    - --node-id=$(NODE_NAME)
    - --driver-name={{ .Values.driverName }}
    - --state-dir={{ .Values.dataDir }}
    - --mode=all
    {{- if eq .Values.form "distributed" }}
    # Expansion is node-driven here: the leader-elected csi-resizer only marks the PV; kubelet calls NodeExpandVolume.
    - --controller-expansion=false
    {{- end }}
    - --log-level={{ .Values.logLevel }}
    {{- if .Values.metrics.enabled }}
    # Prometheus metrics on /metrics (docs/observability.md): the pod's own network, scraped through the metrics
    # Service; read-only, so it need not be kept to loopback.
    - --metrics-address=:{{ .Values.metrics.port }}
    {{- end }}
    {{- with .Values.driver.logFormat }}
    - --log-format={{ . }}
    {{- end }}
    {{- with .Values.driver.maxVolumeSize }}
    - --max-volume-size={{ . }}
    {{- end }}
    {{- with .Values.driver.defaultVolumeSize }}
    - --default-volume-size={{ . }}
    {{- end }}
    {{- with .Values.driver.maxVolumesPerNode }}
    - --max-volumes-per-node={{ . }}
    {{- end }}
    {{- with .Values.driver.mutableParameters }}
    - --mutable-parameters={{ join "," . }}
    {{- end }}
    {{- with .Values.driver.socketMode }}
    - --socket-mode={{ . }}
    {{- end }}
  env:
    - name: NODE_NAME
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    # Target and staging paths outside kubelet's directory are refused.
    - name: HOSTPATH_CSI_ALLOWED_PATH_ROOT
      value: {{ $kubelet }}
    # ControllerPublish/Unpublish (--enable-attach).
    - name: HOSTPATH_CSI_ENABLE_ATTACH
      value: {{ include "hostpath-csi.attach" . | eq "true" | quote }}
    {{- if include "hostpath-csi.snapshotMetadata" . }}
    # --snapshot-metadata: the SnapshotMetadata service for the csi-snapshot-metadata sidecar.
    - name: HOSTPATH_CSI_SNAPSHOT_METADATA
      value: {{ .Values.snapshotMetadata.format }}
    {{- end }}
    {{- with .Values.volumeRoots }}
    # --volume-roots: directories a StorageClass (root) or a static PV may name, by key.
    - name: HOSTPATH_CSI_VOLUME_ROOTS
      value: {{ include "hostpath-csi.volumeRootsFlag" . | quote }}
    {{- end }}
  securityContext:
    # Bind mounts into kubelet's directories and loop devices need a privileged container.
    privileged: true
  ports:
    - name: healthz
      containerPort: 9898
      protocol: TCP
    {{- if .Values.metrics.enabled }}
    - name: metrics
      containerPort: {{ .Values.metrics.port }}
      protocol: TCP
    {{- end }}
  # Start-up reconciles every volume before Probe answers ready (an image volume is checked and mounted again):
  # up to failureThreshold x 5 s (10 minutes by default) before the liveness probe counts.
  startupProbe:
    httpGet:
      path: /healthz
      port: healthz
    periodSeconds: 5
    timeoutSeconds: {{ .Values.startupProbe.timeoutSeconds }}
    failureThreshold: {{ .Values.startupProbe.failureThreshold }}
  # Served by the liveness-probe sidecar, which calls the driver's Probe.
  livenessProbe:
    httpGet:
      path: /healthz
      port: healthz
    initialDelaySeconds: 10
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 5
  {{- include "hostpath-csi.resources" .Values.resources | nindent 2 }}
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
    - name: mountpoint-dir
      mountPath: {{ $kubelet }}/pods
      mountPropagation: Bidirectional
    - name: plugins-dir
      mountPath: {{ $kubelet }}/plugins
      mountPropagation: Bidirectional
    - name: data-dir
      mountPath: {{ .Values.dataDir }}
    - name: dev-dir
      mountPath: /dev
    {{- range .Values.volumeRoots }}
    # At the host's path (the driver bind-mounts volumes from there). No propagation, like data-dir: HostToContainer
    # needs the path on a shared or slave host mount, else the container does not start.
    - name: volume-root-{{ .key }}
      mountPath: {{ .path }}
    {{- end }}
{{- end -}}

{{/* key=/path,... for --volume-roots. Usage: include "hostpath-csi.volumeRootsFlag" .Values.volumeRoots */}}
{{- define "hostpath-csi.volumeRootsFlag" -}}
{{- $items := list -}}
{{- range . -}}{{- $items = append $items (printf "%s=%s" .key .path) -}}{{- end -}}
{{- join "," $items -}}
{{- end -}}

{{/* node-driver-registrar and liveness-probe, the same in both forms. */}}
{{- define "hostpath-csi.nodeSidecars" -}}
- name: node-driver-registrar
  image: {{ .Values.sidecars.nodeDriverRegistrar.image }}
  imagePullPolicy: {{ .Values.sidecars.pullPolicy }}
  args:
    - --csi-address=/csi/csi.sock
    - --kubelet-registration-path={{ include "hostpath-csi.socketDir" . }}/csi.sock
    - --http-endpoint=:9809
    - --v={{ .Values.sidecarLogVerbosity }}
  {{- include "hostpath-csi.resources" .Values.sidecars.nodeDriverRegistrar.resources | nindent 2 }}
  ports:
    - name: registrar-hz
      containerPort: 9809
      protocol: TCP
  livenessProbe:
    httpGet:
      path: /healthz
      port: registrar-hz
    initialDelaySeconds: 5
    timeoutSeconds: 5
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
    - name: registration-dir
      mountPath: /registration
- name: liveness-probe
  image: {{ .Values.sidecars.livenessProbe.image }}
  imagePullPolicy: {{ .Values.sidecars.pullPolicy }}
  args:
    - --csi-address=/csi/csi.sock
    - --health-port=9898
  {{- include "hostpath-csi.resources" .Values.sidecars.livenessProbe.resources | nindent 2 }}
  volumeMounts:
    - name: socket-dir
      mountPath: /csi
{{- end -}}

{{/* The host directories the pods mount. */}}
{{- define "hostpath-csi.volumes" -}}
{{- $kubelet := include "hostpath-csi.kubeletDir" . -}}
- name: socket-dir
  hostPath:
    path: {{ include "hostpath-csi.socketDir" . }}
    type: DirectoryOrCreate
- name: mountpoint-dir
  hostPath:
    path: {{ $kubelet }}/pods
    type: DirectoryOrCreate
- name: plugins-dir
  hostPath:
    path: {{ $kubelet }}/plugins
    type: Directory
- name: registration-dir
  hostPath:
    path: {{ $kubelet }}/plugins_registry
    type: Directory
- name: data-dir
  hostPath:
    path: {{ .Values.dataDir }}
    type: DirectoryOrCreate
- name: dev-dir
  hostPath:
    path: /dev
    type: Directory
{{- range .Values.volumeRoots }}
# Directory, not DirectoryOrCreate: an unmounted disk stops the pod instead of volumes landing on the root filesystem.
- name: volume-root-{{ .key }}
  hostPath:
    path: {{ .path }}
    type: Directory
{{- end }}
{{- if include "hostpath-csi.snapshotMetadata" . }}
- name: snapshot-metadata-tls
  secret:
    secretName: {{ include "hostpath-csi.snapshotMetadataSecret" . }}
{{- end }}
{{- end -}}


{{/* Pod metadata and scheduling both forms share. Usage: include "hostpath-csi.podScheduling" . (inside the pod spec) */}}
{{- define "hostpath-csi.podScheduling" -}}
serviceAccountName: {{ include "hostpath-csi.fullname" . }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $selector := deepCopy .Values.nodeSelector }}
{{- with .Values.pinToNode }}
{{- $_ := set $selector "kubernetes.io/hostname" . }}
{{- end }}
{{- with $selector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The pod annotations from values. Usage: include "hostpath-csi.podAnnotations" . (in the pod template metadata) */}}
{{- define "hostpath-csi.podAnnotations" -}}
{{- with .Values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The metrics ports of this form's pod as a YAML list of {name, port}: the driver's, then each sidecar's. */}}
{{- define "hostpath-csi.metricsPorts" -}}
{{- $p := int .Values.metrics.port -}}
- {name: metrics, port: {{ $p }}}
- {name: metrics-prov, port: {{ add $p 1 }}}
{{- if include "hostpath-csi.attach" . }}
- {name: metrics-attach, port: {{ add $p 2 }}}
{{- end }}
- {name: metrics-resize, port: {{ add $p 3 }}}
- {name: metrics-snap, port: {{ add $p 4 }}}
{{- if and (eq .Values.form "single-node") .Values.sidecars.healthMonitor.enabled }}
- {name: metrics-health, port: {{ add $p 5 }}}
{{- end }}
{{- end -}}
