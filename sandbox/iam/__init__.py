"""IAM: policies and their versions, service accounts, their own policies, acting as one."""
