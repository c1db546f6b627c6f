{{/* The namespace the chart's namespaced objects go into. */}}
{{- define "hindsight.namespace" -}}
{{- if .Values.namespace.create -}}{{ .Values.namespace.name }}{{- else -}}{{ .Release.Namespace }}{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "hindsight.labels" -}}
app.kubernetes.io/name: {{ .Values.name }}
{{- end -}}

{{/*
The byte budget of the history volume: maxDisk, or 90 % of persistence.size, in Gi when whole
and in Mi otherwise.
*/}}
{{- define "hindsight.maxDisk" -}}
{{- if .Values.maxDisk -}}
{{- if kindIs "string" .Values.maxDisk -}}{{ .Values.maxDisk }}{{- else -}}{{ int64 .Values.maxDisk }}{{- end -}}
{{- else -}}
{{- $size := toString .Values.persistence.size -}}
{{- $digits := regexFind "^[0-9]+" $size -}}
{{- $unit := trimPrefix $digits $size -}}
{{- $perUnit := get (dict "Mi" 1 "Gi" 1024 "Ti" 1048576) $unit -}}
{{- if or (not $digits) (not $perUnit) -}}
{{- fail (printf "persistence.size must be a whole number of Mi, Gi or Ti (such as 10Gi) for maxDisk to be derived from it, got %q; or set maxDisk" $size) -}}
{{- end -}}
{{- $tenths := mul (atoi $digits) $perUnit 9 -}}
{{- if lt $tenths 10 -}}
{{- fail (printf "persistence.size %q is too small for a history volume; give at least 2Mi" $size) -}}
{{- end -}}
{{- if eq (mod $tenths 10240) 0 -}}
{{ div $tenths 10240 }}Gi
{{- else -}}
{{ div $tenths 10 }}Mi
{{- end -}}
{{- end -}}
{{- end -}}
