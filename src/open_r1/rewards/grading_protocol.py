"""What the grading pool (`_grading_pool`) and its workers (`grading_worker`) say to each other.

Frames are a little-endian 8-byte length followed by a pickle. An answer's kind tells the worker how to parse
it: `KIND_BOXED` (the content of a `\\boxed{}`) or `KIND_ANSWER_BLOCK` (free text from an `<answer>` block).
This module is separate so that the trainer side imports neither sympy nor math-verify: only workers do.

Not covered: the grading itself (`grading_worker`), the workers' processes and time limits (`_grading_pool`).
"""

import struct

FRAME_HEADER = struct.Struct("<Q")
KIND_BOXED = "boxed"
KIND_ANSWER_BLOCK = "answer_block"
