"""What TensorBoard reads from an event folder, for tests/util/event_file_test.cpp
(include/collapse/util/event_file.h): its EventAccumulator, which checks every record's CRCs.

Usage: event_file_tensorboard.py DIR
Prints {"scalars": {tag: [[step, value], ...]}, "texts": {tag: [[step, text], ...]},
"file_version": "..."} as JSON. Exit 77: tensorboard not importable (the test skips, or fails
under CI)."""
import json
import sys

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError as error:
    print(f"cannot import: {error}")
    sys.exit(77)

acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
acc.Reload()
tags = acc.Tags()
out = {"scalars": {}, "texts": {}, "file_version": acc.file_version}
for tag in tags["scalars"]:
    out["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
for tag in tags["tensors"]:
    out["texts"][tag] = [[e.step, e.tensor_proto.string_val[0].decode()] for e in acc.Tensors(tag)]
print(json.dumps(out))
