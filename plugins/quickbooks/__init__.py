"""QuickBooks Online: python-quickbooks + intuit-oauth behind one client seam (issue #5)."""
