"""The knowledge base: help articles (Markdown, EN + ZH) and retrieval over them
(chunking, embedding, a FAISS index that is rebuilt or updated and hot-swapped)."""
