"""The GCE metadata server google-auth asks for credentials."""
