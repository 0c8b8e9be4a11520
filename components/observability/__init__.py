"""Layer 5 (top): alarms, dashboards, Prometheus/Grafana, log shipping and the budget."""
