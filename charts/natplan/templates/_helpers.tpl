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

{{/* repository:tag, or repository@digest when a digest is given (the tag cannot move it). */}}
{{- define "natplan.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* A probe: the chart's httpGet merged with the timing from values. Takes (list httpGet timing). */}}
{{- define "natplan.probe" -}}
{{- toYaml (merge (dict "httpGet" (index . 0)) (index . 1)) -}}
{{- end -}}

{{/* "true" for the classes Kubernetes admits outside kube-system only with a ResourceQuota. */}}
{{- define "natplan.isCriticalClass" -}}
{{- if has . (list "system-node-critical" "system-cluster-critical") -}}true{{- end -}}
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

{{/* KUBERNETES_SERVICE_HOST/PORT overrides for the in-cluster client (k8sServiceHost), or nothing. */}}
{{- define "natplan.apiServerEnv" -}}
{{- if .Values.k8sServiceHost -}}
- name: KUBERNETES_SERVICE_HOST
  value: {{ .Values.k8sServiceHost | quote }}
- name: KUBERNETES_SERVICE_PORT
  value: {{ .Values.k8sServicePort | default "443" | quote }}
{{- end }}
{{- end -}}
