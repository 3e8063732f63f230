"""tensord.distributed.elastic.multiprocessing: errors (the @record decorator)."""
