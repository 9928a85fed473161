"""shelfguard: data contracts and quality gates for retailer point-of-sale data.

Importing the package (which `assets` and `checks` do first) tells jemalloc, the allocator of
Polars and deltalake, to hand freed memory back at once: by default it keeps it for ten seconds,
so in one long in-process run every step allocated on top of what earlier steps had freed and the
peak was the sum of them (docs/performance-pipeline.md). It must be set before either library
loads; a value already in the environment wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0")
