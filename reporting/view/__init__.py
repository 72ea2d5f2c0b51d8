"""`opsbench view`: a local web app over the results store (Starlette, served by uvicorn).

Pages are rendered on the server from Jinja2 templates (autoescaped) with inline CSS and
inline SVG charts: nothing is fetched from another host, so it works offline.
"""
