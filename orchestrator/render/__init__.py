"""Renderers: pure functions from results to text (markdown, JSON, terminal tables)."""
