"""graphc.utils.data: datasets, samplers and the DataLoader."""
