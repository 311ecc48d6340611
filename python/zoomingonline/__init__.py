"""zoomingonline."""
