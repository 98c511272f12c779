"""The web dashboard and REST API: a thin front-end over the inventory, policy and reports.

``app.create_app`` builds the ASGI application (FastAPI); ``server.serve`` runs it with uvicorn
after ``server.check_bind`` has refused a non-loopback address without ``--allow-remote``.
Requires the ``web`` extra (fastapi, uvicorn, python-multipart).
"""
