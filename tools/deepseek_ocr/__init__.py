"""Plain PyTorch reference of DeepSeek-OCR (see README.md in this folder)."""
