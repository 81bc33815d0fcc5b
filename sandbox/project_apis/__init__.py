"""What a preflight asks of the project: Resource Manager, Service Usage, Cloud Quotas."""
