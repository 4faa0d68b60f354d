{{- define "natplan.name" -}}natplan{{- end -}}

{{- define "natplan.fullname" -}}
{{- if contains "natplan" .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-natplan" .Release.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "natplan.labels" -}}
app.kubernetes.io/name: natplan
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "natplan.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "natplan.csv" -}}{{ join "," . }}{{- end -}}

{{/* host:port for a --metrics-address flag; IPv6 hosts in brackets. Takes (list host port). */}}
{{- define "natplan.hostPort" -}}
{{- $host := index . 0 -}}{{- if contains ":" $host -}}[{{ $host }}]{{- else -}}{{ $host }}{{- end -}}:{{ index . 1 }}
{{- end -}}

{{/* "true" when a bind address is loopback: nothing off the host (or pod) can reach it. */}}
{{- define "natplan.isLoopback" -}}
{{- if or (hasPrefix "127." .) (eq . "::1") -}}true{{- end -}}
{{- end -}}

{{/* Where the kubelet probes a host-network pod: loopback serves a wildcard bind too. */}}
{{- define "natplan.probeHost" -}}
{{- if or (eq . "0.0.0.0") (eq . "::") -}}127.0.0.1{{- else -}}{{ . }}{{- end -}}
{{- end -}}
