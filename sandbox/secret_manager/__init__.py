"""Secret Manager v1: secrets, versions, their IAM policies."""
