"""Pure Plotly figure builders (result dict in, go.Figure out), shared by the pages and the HTML export.

``sections`` binds each Result section's builders to the section registry; ``html_report`` fills the report
template (``templates/report.html``) with them.
"""
