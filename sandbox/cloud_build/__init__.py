"""Cloud Build v1: builds, and the build steps the sandbox can run."""
