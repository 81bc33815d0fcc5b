"""The model servers a deployment runs: Ollama (NDJSON and its OpenAI API) and vLLM."""
