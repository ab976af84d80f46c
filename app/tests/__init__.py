"""The sample app's tests: unittest only (stdlib) and Flask's test client, no network.

Run them from the app directory or from inside the image (WORKDIR /app):
    python3 -m unittest discover -s tests -v
scripts/ci/app-test.sh runs the same tests under coverage.py for the pipeline's test:app job.
"""
