"""Engines that run the stages somewhere other than this process (``engine="dask"``).

Each is loaded only when asked for, and only it imports its libraries: the core never
does. An engine plans the partitions of a run, runs each through
:func:`ldtransform.partition.run_partition` and puts the results together.
"""
