"""``resync-eval``: ask agents the questions of evaluation cases on simulated plans, grade them.

A composition of the chat's turn service with the agents, the memory and the TWS simulator, like
an entry point: ``cases`` reads the case files, ``run`` asks their questions (``lm`` builds the LM,
or the evidence-echo baseline), ``grade`` grades the answers, ``report`` prints the results and
``cli`` is the command (see its docstring for what it does).
"""
