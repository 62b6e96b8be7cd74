"""The adoption metrics of DESIGN.md section 6: pure definitions (`definitions`), loaders and
computation by scope (`data`), nightly snapshots (`snapshots`) and the /metrics page (`views`)."""
