"""Layer 4: the public entry point: ALB, TLS, WAF, listeners and routes, the load balancer controller."""
