"""The audit log: who did what privileged thing, to what, and when."""
