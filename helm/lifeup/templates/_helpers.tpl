{{/* Names and labels shared by every template. */}}
{{- define "lifeup.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lifeup.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lifeup.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lifeup.labels" -}}
helm.sh/chart: {{ include "lifeup.chart" . }}
app.kubernetes.io/name: {{ include "lifeup.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lifeup
{{- end -}}

{{/* Selector labels for one component: include "lifeup.selectorLabels" (list . "worker") */}}
{{- define "lifeup.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ include "lifeup.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "lifeup.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lifeup.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lifeup.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Environment shared by the worker and the API: the ConfigMap plus secret references. */}}
{{- define "lifeup.env" -}}
{{- if .Values.kafka.sasl.existingSecret }}
- name: LIFEUP_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: LIFEUP_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- if .Values.kafka.tls.caSecret }}
- name: LIFEUP_KAFKA_SSL_CAFILE
  value: /etc/lifeup/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes shared by both workloads (the writable paths of a read-only root filesystem). */}}
{{- define "lifeup.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
    items:
      - key: {{ .Values.kafka.tls.caKey }}
        path: {{ .Values.kafka.tls.caKey }}
{{- end }}
{{- end -}}

{{- define "lifeup.commonMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/lifeup/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Fails the render on combinations that cannot work. */}}
{{- define "lifeup.validate" -}}
{{- if and .Values.api.enabled (not .Values.api.apiKeys.existingSecret) -}}
{{- fail "api.apiKeys.existingSecret is required: a Secret holding the API keys (one per line)" -}}
{{- end -}}
{{- if and (hasPrefix "SASL" .Values.kafka.securityProtocol) (not .Values.kafka.sasl.mechanism) -}}
{{- fail (printf "kafka.sasl.mechanism is required with kafka.securityProtocol=%s" .Values.kafka.securityProtocol) -}}
{{- end -}}
{{- if and (hasPrefix "SASL" .Values.kafka.securityProtocol) (ne .Values.kafka.sasl.mechanism "OAUTHBEARER") (not .Values.kafka.sasl.existingSecret) -}}
{{- fail "kafka.sasl.existingSecret is required for SASL PLAIN/SCRAM: a Secret with the username and password" -}}
{{- end -}}
{{- if and .Values.worker.keda.enabled (gt (int .Values.worker.keda.maxReplicas) (int .Values.topics.partitions)) -}}
{{- fail "worker.keda.maxReplicas must not exceed topics.partitions (extra workers would sit idle)" -}}
{{- end -}}
{{- if and .Values.worker.keda.enabled (eq .Values.worker.keda.trigger "prometheus") (not .Values.worker.keda.prometheus.serverAddress) -}}
{{- fail "worker.keda.prometheus.serverAddress is required with worker.keda.trigger=prometheus" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.api.enabled) -}}
{{- fail "ingress.enabled needs api.enabled" -}}
{{- end -}}
{{- if and .Values.ingress.managedCertificate.enabled (not .Values.ingress.host) -}}
{{- fail "ingress.managedCertificate.enabled needs ingress.host" -}}
{{- end -}}
{{- end -}}

{{/* Egress every LifeUp pod needs: DNS, the brokers, the GKE metadata server. */}}
{{- define "lifeup.egressCommon" -}}
# DNS (kube-dns / NodeLocal DNSCache).
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
# Kafka brokers: outside the cluster (e.g. Managed Service for Apache Kafka), so by port only.
- ports:
    {{- range .Values.networkPolicy.kafkaPorts }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- if .Values.networkPolicy.allowGkeMetadataServer }}
# GKE metadata server (Workload Identity tokens).
- to:
    - ipBlock:
        cidr: 169.254.169.254/32
    - ipBlock:
        cidr: 169.254.169.252/32
  ports:
    - port: 80
      protocol: TCP
    - port: 988
      protocol: TCP
{{- end }}
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}
