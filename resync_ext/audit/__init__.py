"""The audit loop: the auditor that judges memories and the review queue humans work."""
