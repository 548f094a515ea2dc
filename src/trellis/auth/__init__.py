"""Authentication: API keys with scopes (apikeys.py)."""
