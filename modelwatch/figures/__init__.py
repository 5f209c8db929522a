"""Pure Plotly figure builders (result dict in, go.Figure out), shared by the pages and the HTML export."""
