"""Analysing a recorded video on its own (``scas analyze FILE``): every face boxed and
named (an enrolled visitor, or ``unknown #n``), with its expression, age and gender, as an
annotated MP4 and a per-second JSON. The same recognition as an event's segments."""
