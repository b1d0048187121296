"""Xero: a thin requests + authlib client (issue #7)."""
