"""The audit portal: a small web service over ``checker.pipeline.run``.

Auditors upload a month's exports in a browser (or through the JSON API), check them first, start the run,
look at the results and publish them; department users download only their own workbook.

Modules:
    store     the data folder (DIR) and the portal database (users, tokens, runs, audit log)
    security  passwords (argon2id), API tokens, CSRF tokens, login throttling
    jobs      the run queue (huey on SQLite) and the child process each run executes in
    child     the child process: pre-check (validate) and run, calling checker.pipeline directly
    web       the FastAPI application: pages and the JSON API
    charts    server-rendered SVG charts (no JavaScript needed)
    serve     ``sharecheck serve``: the web server and the run worker in one process
"""
