"""Security middleware: host checking (more arrives with CSRF, headers, CORS and rate limits)."""
