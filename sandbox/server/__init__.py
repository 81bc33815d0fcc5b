"""The one aiohttp process: request dispatch, the /_sandbox/ control API, the state it holds."""
