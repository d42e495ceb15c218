{{- define "ai-fix.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name: "<release>-ai-fix", or the release name when it already says ai-fix. */}}
{{- define "ai-fix.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "ai-fix.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "ai-fix.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ai-fix.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ai-fix.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ai-fix.labels" -}}
{{ include "ai-fix.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ai-fix.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The workers' image: with image.variant full, the Dockerfile's full target, tagged <tag>-full. */}}
{{- define "ai-fix.workerImage" -}}
{{- if eq .Values.image.variant "full" -}}
{{- printf "%s-full" (include "ai-fix.image" .) -}}
{{- else -}}
{{- include "ai-fix.image" . -}}
{{- end -}}
{{- end -}}

{{- define "ai-fix.secretName" -}}
{{- default (include "ai-fix.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{- define "ai-fix.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ai-fix.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Settings shared by the server and the workers: the ConfigMap's data, and its checksum. */}}
{{- define "ai-fix.configData" -}}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
AI_FIX_QUEUE_PREFIX: {{ .Values.config.queuePrefix | quote }}
WEBHOOK_PATH: {{ .Values.config.webhookPath | quote }}
AI_FIX_REPO_CONCURRENCY: {{ .Values.config.repoConcurrency | quote }}
AI_FIX_JOB_LOCK_SECONDS: {{ .Values.config.jobLockSeconds | quote }}
{{- if .Values.config.gheHost }}
GHE_HOST: {{ .Values.config.gheHost | quote }}
GHE_PROTOCOL: {{ .Values.config.gheProtocol | quote }}
{{- end }}
{{- if .Values.config.openaiBaseUrl }}
OPENAI_BASE_URL: {{ .Values.config.openaiBaseUrl | quote }}
{{- end }}
{{- if .Values.config.model }}
AI_FIX_MODEL: {{ .Values.config.model | quote }}
{{- end }}
{{- end -}}

{{/* The Secret the chart creates when no existingSecret is named. */}}
{{- define "ai-fix.secretData" -}}
APP_ID: {{ required "secret.appId is required (or name a Secret in secret.existingSecret)" .Values.secret.appId | quote }}
PRIVATE_KEY: {{ required "secret.privateKey is required (or name a Secret in secret.existingSecret)" .Values.secret.privateKey | quote }}
WEBHOOK_SECRET: {{ required "secret.webhookSecret is required (or name a Secret in secret.existingSecret)" .Values.secret.webhookSecret | quote }}
OPENAI_API_KEY: {{ required "secret.openaiApiKey is required (or name a Secret in secret.existingSecret)" .Values.secret.openaiApiKey | quote }}
REDIS_URL: {{ required "secret.redisUrl is required (or name a Secret in secret.existingSecret)" .Values.secret.redisUrl | quote }}
{{- end -}}

{{/* Environment from the Secret that both the server and the workers need. */}}
{{- define "ai-fix.secretEnv" -}}
- name: APP_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "ai-fix.secretName" . }}
      key: APP_ID
- name: PRIVATE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "ai-fix.secretName" . }}
      key: PRIVATE_KEY
- name: WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "ai-fix.secretName" . }}
      key: WEBHOOK_SECRET
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "ai-fix.secretName" . }}
      key: REDIS_URL
{{- end -}}

{{/* Pod annotations that roll the pods when the settings or the chart's own Secret change. */}}
{{- define "ai-fix.checksums" -}}
checksum/config: {{ include "ai-fix.configData" . | sha256sum }}
{{- if not .Values.secret.existingSecret }}
checksum/secret: {{ include "ai-fix.secretData" . | sha256sum }}
{{- end }}
{{- end -}}
