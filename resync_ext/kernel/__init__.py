"""Code that runs in a kernel, never in the server: panels, the server's client, runbooks, reports.

A notebook's kernel is another process than the Jupyter server that owns the memory store, the
review queue and the TWS client pool (ARCHITECTURE.md "One owner process"). Everything here reaches
those services through the server's REST and WebSocket API with the server's token (``client``),
or TWS directly through the same read-only client the agents use (``runbook``). The server never
imports this package (``tests/test_layers.py`` checks it)::

    client.py, chat_socket.py, errors.py   the server's client (REST, chat WebSocket), the errors
    widgets/                               ipywidgets ChatPanel and ReviewPanel over that client
    runbook.py                             helpers of the runbook notebooks (notebooks/runbooks/)
    audit_data.py                          what the audit report notebook reads and computes
    signatures.py                          normalised error signatures (reports and runbooks)
"""
