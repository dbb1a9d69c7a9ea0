"""The review page: a local web app where reviewers approve, edit or reject staged rows.

`create_app(store, config)` in `app.py` builds it; `cli.py` adds `python -m pipeline review`.
"""
