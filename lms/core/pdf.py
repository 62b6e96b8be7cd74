"""HTML to PDF with WeasyPrint, fetching nothing: documents carry their styles and (SVG) charts
inline, and only data: URLs may be resolved, so rendering never makes a request, never reads a
file and never depends on the network."""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=["data"], timeout=1)
    return HTML(string=html, url_fetcher=fetcher, base_url="data:,").write_pdf()
