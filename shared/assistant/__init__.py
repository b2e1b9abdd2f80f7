"""The assistant: answers an organisation's questions about its own migrations, with
citations, from an index of its run records and Ferry's documentation (issue 17).

records.py (what is indexed) · docs.py (the shared documentation part) · feed.py (run
log lines → queue) · indexer.py (queue → index) · query.py (the tenant trim) · index.py
(the protocol and the local index) · minilm.py (local embeddings) · backends.py /
azure_backends.py (local and Azure backends) · answer.py (prompt, extractive answers) ·
service.py (ask, ask_stream) · purge.py (retention). Heavy libraries (numpy, tokenizers,
azure-search-documents, openai) are imported on first use only.
"""
