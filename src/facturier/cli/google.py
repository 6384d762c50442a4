"""`facturier auth google`: the one interactive consent for Gmail and Google Sheets."""

from __future__ import annotations

import typer

from facturier.cli.common import FacturierTyper, app, console, load

auth_app = FacturierTyper(help="Sign in to outside services (Google).", no_args_is_help=True)
app.add_typer(auth_app, name="auth")


@auth_app.command("google")
def auth_google(
    ctx: typer.Context,
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the sign-in URL instead of opening a browser."),
    port: int = typer.Option(0, "--port", min=0, max=65535,
                             help="Port on 127.0.0.1 for Google's redirect (0: any free one)."),
    timeout: int = typer.Option(300, "--timeout", min=10, help="Seconds to wait for the consent."),
) -> None:
    """Sign in to Google for what the configuration uses (Gmail drafts or sending, Sheets).

    Runs Google's installed-app flow: a web server listens on 127.0.0.1 only, and only until
    the browser comes back; the token is saved 0600 in [google] token_file.
    """
    from facturier.adapters.google.auth import client_secret_path, consent, token_path
    from facturier.adapters.google.errors import GoogleAuthError
    from facturier.config.google import google_scopes

    ws = load(ctx)
    scopes = google_scopes(ws.config)
    if not scopes:
        raise GoogleAuthError('the configuration uses no Google service ([mail] transport = "gmail", '
                              '[collections] drafts = "gmail" or source = "sheets"): nothing to sign in for')
    secret = client_secret_path(ws.config.google, ws.root)
    token = token_path(ws.config.google, ws.root)
    console.print("Signing in to Google for: " + ", ".join(s.rsplit("/", 1)[-1] for s in scopes), markup=False)
    console.print("A local server listens on 127.0.0.1 until the consent is done.", markup=False)
    granted = consent(secret, scopes, token, open_browser=not no_browser, port=port, timeout=timeout)
    console.print(f"Signed in. Token saved to {token} (mode 0600); granted: "
                  + ", ".join(sorted(s.rsplit("/", 1)[-1] for s in granted)), markup=False)
