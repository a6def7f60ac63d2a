"""radpilot.datasets: pre-labelled annotation, agreement and exports for imaging research."""
