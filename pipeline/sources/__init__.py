"""Kinds of source: a local PDF, a DOI, a case-page URL. Each resolves to a document."""
