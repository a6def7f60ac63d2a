"""The steps of ``radpilot demo``, one module per capability (see ``commands.demo``)."""
