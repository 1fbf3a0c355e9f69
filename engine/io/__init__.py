"""Reading data files into typed frames, and writing results."""
