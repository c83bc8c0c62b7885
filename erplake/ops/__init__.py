"""Operating a deployment: backups and restores, the nightly backup job, dev servers."""
