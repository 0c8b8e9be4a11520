"""Offline planning: run the Pulumi program under the mock engine, then review, price and render it."""
