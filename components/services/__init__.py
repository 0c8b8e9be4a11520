"""Layer 3: agent services; what both runtimes share sits here, each runtime in its own subpackage."""
