"""The assistant: answers an organisation's questions about its own migrations, with
citations, from an index of its run records and Ferry's documentation (issue 17).

records.py (what is indexed) · docs.py (the shared documentation part) · feed.py (run
log lines → queue) · indexer.py (queue → index) · query.py (the tenant trim) · index.py
(the protocol and the local index) · minilm.py (local embeddings) · embedding_cache.py
(documentation vectors computed once per machine) · backends.py /
azure_backends.py (local and Azure backends) · answer.py (prompt, extractive answers) ·
service.py (ask, ask_stream) · purge.py (retention). Heavy libraries (numpy, tokenizers,
azure-search-documents, openai) are imported on first use only.
"""

import os

# One BLAS thread: the embedding model runs inside a Functions worker next to other work,
# and OpenBLAS's default (a thread per core) was measured 7.6× slower on a loaded 2-core
# machine (20 passages: 93 s against 12 s). Set before numpy is first imported (lazily,
# by this package); an explicit setting in the environment wins. OpenBLAS reads it only
# when numpy is first imported, so the model also tells a loaded OpenBLAS directly
# (minilm.limit_blas_threads) in case something imported numpy before this package.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
