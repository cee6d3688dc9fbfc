//! What the store's test suites share: the backends they run against, and the macro that
//! turns each async test body into one test per backend. A new backend (PostgreSQL) is a
//! new factory here and one more suite invocation in each file.

use callscope_store::{Durability, EmbeddedStore};

/// An embedded store in a fresh temporary directory; the directory lives as long as the
/// returned guard.
pub async fn embedded_store() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = EmbeddedStore::open(dir.path(), Durability::Normal).expect("the store opens");
    (dir, store)
}

/// One multi-threaded tokio test per named body (an `async fn(&S)` in the enclosing file),
/// each on a fresh store from `$factory`.
macro_rules! backend_tests {
    ($factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = ($factory)().await;
                super::$name(&store).await;
            }
        )*
    };
}
