"""Cloud Monitoring v3 timeSeries.list of Cloud Run's billable instance time."""
