{{/* Chart name, trimmed to 63 characters (a DNS label). */}}
{{- define "mge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already holds the chart name. */}}
{{- define "mge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "mge.labels" -}}
helm.sh/chart: {{ include "mge.chart" . }}
{{ include "mge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mge
{{- end }}

{{/* Labels that select the operator pod (never change them after the first install). */}}
{{- define "mge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Namespaces the operator watches when not cluster-wide (default: the release namespace). */}}
{{- define "mge.watchNamespaces" -}}
{{- if .Values.watch.namespaces }}{{ join "," .Values.watch.namespaces }}{{ else }}{{ .Release.Namespace }}{{ end }}
{{- end }}

{{/* Namespaces that get the sandbox deny-all NetworkPolicy. */}}
{{- define "mge.sandboxNamespaces" -}}
{{- if .Values.sandboxNetworkPolicy.namespaces }}{{ join "," .Values.sandboxNetworkPolicy.namespaces }}{{ else }}{{ include "mge.watchNamespaces" . }}{{ end }}
{{- end }}

{{- define "mge.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "mge.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mge.chroma.fullname" -}}
{{- printf "%s-chroma" (include "mge.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The restricted container securityContext (Pod Security Standard "restricted"). */}}
{{- define "mge.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Operator replicas actually run. A standby must resume from the same store as the leader: with
no shared database (SQLite in each pod's emptyDir) a second replica would start every Project
again from an empty store and pay for it twice, so the chart runs one.
*/}}
{{- define "mge.replicas" -}}
{{- if or .Values.database.existingSecret .Values.postgresql.enabled -}}
{{ .Values.replicas }}
{{- else -}}
{{ min 1 (int .Values.replicas) }}
{{- end -}}
{{- end }}

{{/* The review UI's own name label: it must never match the operator Deployment's selector. */}}
{{- define "mge.reviewUI.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-review-ui" (include "mge.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mge.reviewUI.labels" -}}
helm.sh/chart: {{ include "mge.chart" . }}
{{ include "mge.reviewUI.selectorLabels" . }}
app.kubernetes.io/component: review-ui
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mge
{{- end }}
