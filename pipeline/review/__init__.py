"""`capcode review`: a local page to accept or correct suggestions, one card at a time, keyboard first.

The package, each module importing only those above it:

    store.py     the codings file the review writes: decisions appended and synced at once, undo as
                 an atomic rewrite, so the file is always a valid long-form codings file
    queue.py     the model's suggestions and `suggest` order for every fragment; the coder's queue
    progress.py  per-dimension counts and the running agreement between the coder and the model
    retrain.py   retraining in a background process every `review.retrain_every` decisions
    session.py   one coder's session: cards, decisions, skip, undo, progress, the model, one lock
    app.py       the Starlette app: token check, the page (Jinja2), its JSON API, static files
    run.py       reads and checks the inputs, binds 127.0.0.1, prints the address with its token

`templates/review.html`, `static/review.js` and `static/review.css` ship with the package: the page
loads nothing from the network.
"""
