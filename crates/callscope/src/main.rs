//! The `callscope` binary: parses the command line and hands over to a command.

mod bench;
mod cli;
mod config;
mod demo;
mod exchange;
mod keys;
mod progress;
mod reindex;
mod search;
mod serve;

/// mimalloc rather than the system allocator: ingest allocates many small values on three
/// threads at once (the SQLite writer, the index follower, tantivy's indexer), and glibc's
/// malloc took a fifth of all CPU time there (`perf`, 100k-call bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Threads of the blocking pool.
const MAX_BLOCKING_THREADS: usize = 128;

fn main() -> std::process::ExitCode {
    let cli = match config::parse() {
        Ok(cli) => cli,
        Err(error) => {
            eprintln!("error: {error:#}");
            return std::process::ExitCode::from(2);
        }
    };
    cli::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Bounds the threads blocking work can take (SQLite reads, searches, webhook sends,
        // analyses); past them jobs wait in tokio's queue, which the server's bounds on
        // requests and searches at once keep short. tokio's default is 512.
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => serve::run(*args).await,
            cli::Command::Keys(args) => keys::run(args).await,
            cli::Command::Demo(args) => demo::run(args).await,
            cli::Command::Search(args) => search::run(args).await,
            cli::Command::Export(args) => exchange::export(args).await,
            cli::Command::Import(args) => exchange::import(args).await,
            cli::Command::Reindex(args) => reindex::run(args).await,
            cli::Command::Bench(args) => bench::run(args).await,
            cli::Command::Openapi => {
                println!("{}", callscope_server::openapi_json());
                Ok(())
            }
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
