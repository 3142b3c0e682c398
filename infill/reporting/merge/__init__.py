"""Merge the report folders of a sharded run into the report one unsharded run would have written.

    infill-bench merge SHARD_DIR [SHARD_DIR ...] -o OUT_DIR [--gates FILE]
    ./infill-bench merge   SHARD_DIR [SHARD_DIR ...] -o OUT_DIR [--gates FILE]

Each SHARD_DIR is the --infill-report-dir of one `--shard I/N` run (summary.json + samples.jsonl). The merge first
checks that the folders belong together: one run's selection, rules, sources, code and packages, shards 1..N of
one N each exactly once, every record in the shard its id hashes to, no record twice. Anything else stops it with
one line naming the folders and what differs (exit code 2). Then it recomputes everything derived from the
records (results, analyses) with the same functions a run uses, so the merged summary.json equals the
unsharded run's except for `run` (commands, times, the shards).

What cannot be recomputed from records is combined: `complete` only if every shard was complete; notes in
order, each once; the timing rows of every shard, tagged with it; gates are checked afresh on the merged figures
(`--gates FILE`, else the gates file the shards recorded when it is found here), never copied from a shard,
whose gates only saw its part. Exit code: 0; 1 if a gate failed or a shard was incomplete (the report is
written either way); 2 for input that does not merge.
"""

from infill.reporting.merge.combine import merge_shards, merged_context
from infill.reporting.merge.shards import ShardReport, read_shard

__all__ = ["ShardReport", "merge_shards", "merged_context", "read_shard"]
