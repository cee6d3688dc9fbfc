//! The Python interpreter that runs the real peers from PyPI (`tests/python/`).

use std::path::PathBuf;

/// `CALLSCOPE_PYTHON`, else `target/python-venv/bin/python` under the workspace, which
/// `.ci/run` makes from `tests/python/requirements.txt`.
pub fn python() -> PathBuf {
    if let Ok(python) = std::env::var("CALLSCOPE_PYTHON") {
        return python.into();
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the test peers at {}: run .ci/run, or `python3 -m venv \
         target/python-venv && target/python-venv/bin/pip install -r \
         crates/callscope/tests/python/requirements.txt`",
        venv.display()
    );
    venv
}

/// A token as LiveKit's `AccessToken` makes it for `api_key`, signed with `secret`, from
/// LiveKit's own Python API; with the observability write grant its uploads carry, or none.
pub fn livekit_token(api_key: &str, secret: &str, observability_grant: bool) -> String {
    let code = "import sys; from livekit import api\n\
                token = api.AccessToken(sys.argv[1], sys.argv[2])\n\
                if sys.argv[3] == 'yes':\n    \
                token = token.with_observability_grants(api.ObservabilityGrants(write=True))\n\
                print(token.to_jwt())";
    let output = std::process::Command::new(python())
        .args(["-c", code, api_key, secret])
        .arg(if observability_grant { "yes" } else { "no" })
        .output()
        .expect("make a LiveKit token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
