"""Video scene search: probe, scenes, descriptors, encoding, the scene store, search."""
