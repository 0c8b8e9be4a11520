"""Grafana dashboards as code: Python builders whose JSON Grafana's sidecar loads from labelled ConfigMaps."""
