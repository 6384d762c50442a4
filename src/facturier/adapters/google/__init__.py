"""Google APIs (Gmail, Sheets) behind Facturier's own interfaces.

`auth` signs in (the one interactive step, `facturier auth google`) and loads the saved
token, refreshing it silently; `api` builds the API clients from the discovery documents
bundled with google-api-python-client (no discovery request) and calls them with retries;
`gmail` is the `[mail] transport = "gmail"` transport. The Gmail draft store is
`adapters/drafts/gmail.py`, the Google Sheets source `adapters/sheets.py`.

The error tree (foreign errors - HttpError, RefreshError, socket errors - are translated
in `api.call` and `auth`, so nothing above this package sees them):

    GoogleError
    ├── GoogleAuthError         not signed in, token file unsafe, scope not granted, or the
    │                           sign-in was revoked or expired (invalid_grant): run
    │                           `facturier auth google`
    ├── GoogleApiError          the API refused the request (a 4xx other than rate limits)
    │   └── GooglePermissionError   403 insufficientPermissions / PERMISSION_DENIED
    └── GoogleUnavailable       network failure, 5xx or rate limits still failing after the
                                retries: nothing is known to have changed
"""
