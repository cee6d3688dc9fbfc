//! `callscope export` and `callscope import`: the HTTP export and import's formats from the
//! command line, straight on the data directory (`callscope_store::exchange`).

use crate::cli::{ExportArgs, ExportFormatArg, ImportArgs, ImportFormatArg};
use anyhow::Context;
use callscope_query::{Limits, Query, SearchRequest, Surface, TrackTotalHits, parse_query};
use callscope_store::exchange::{ExportFormat, ImportFormat, Importer, Walk, render_page};
use callscope_store::{IndexMode, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// Calls read per page of an export.
const EXPORT_PAGE: u32 = 500;

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let query = match &args.query {
        None => Query::MatchAll,
        Some(text) => {
            let json: serde_json::Value =
                serde_json::from_str(text).context("--query is not JSON")?;
            parse_query(Surface::Native, &json, &Limits::default()).context("--query")?
        }
    };
    let format = match args.format {
        ExportFormatArg::Ndjson => ExportFormat::Ndjson,
        ExportFormatArg::Csv => ExportFormat::Csv,
    };
    // Owning the index brings it level with the database first (an import from the command
    // line leaves it behind); beside a running server, which owns it, the committed index
    // is what can be read.
    let store: Arc<dyn Store> = match args.store.open(IndexMode::Maintain, Limits::default()) {
        Ok(store) => {
            crate::reindex::catch_up(&store).await?;
            Arc::new(store)
        }
        Err(_) => {
            eprintln!(
                "note: another process (a server?) maintains the index; exporting what it has \
                 committed"
            );
            Arc::new(args.store.open(IndexMode::Read, Limits::default())?)
        }
    };
    let organization = args.org.as_str();
    let total = count(&store, organization, &query).await?;
    let progress = crate::progress::bar(total, "exporting", "calls");
    let mut walk = Walk::new(query, Vec::new(), EXPORT_PAGE);
    let mut written = 0u64;
    let mut output = Output::open(args.output.as_deref()).await?;
    output.write(format.preamble().as_bytes()).await?;
    while let Some(search) = walk.next_request() {
        let result = store.search(organization, search).await?;
        walk.advance(&result);
        written += result.calls.len() as u64;
        let page = render_page(&store, organization, format, result.calls).await?;
        output.write(page.as_bytes()).await?;
        progress.set_position(written);
    }
    output.finish().await?;
    progress.finish_and_clear();
    eprintln!("exported {written} calls of organization `{organization}`");
    Ok(())
}

/// How many calls of `organization` `query` matches.
async fn count(store: &Arc<dyn Store>, organization: &str, query: &Query) -> anyhow::Result<u64> {
    let request = SearchRequest {
        query: query.clone(),
        sort: Vec::new(),
        offset: 0,
        limit: 0,
        search_after: None,
        aggs: callscope_query::Aggregations::new(),
        track_total_hits: TrackTotalHits::Exact,
        highlight: None,
    };
    Ok(store.search(organization, &request).await?.total)
}

/// Where an export goes: standard output, or a file written beside its name and renamed
/// into place once whole, so a failed export never leaves a complete-looking file.
struct Output {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    /// The partial file and the name it gets.
    file: Option<(PathBuf, PathBuf)>,
}

impl Output {
    async fn open(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self {
                writer: Box::new(tokio::io::BufWriter::new(tokio::io::stdout())),
                file: None,
            });
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = tokio::fs::File::create(&partial)
            .await
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok(Self {
            writer: Box::new(tokio::io::BufWriter::new(file)),
            file: Some((partial, path.to_owned())),
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.writer
            .write_all(bytes)
            .await
            .context("cannot write the export")
    }

    async fn finish(mut self) -> anyhow::Result<()> {
        self.writer
            .shutdown()
            .await
            .context("cannot write the export")?;
        if let Some((partial, path)) = self.file {
            tokio::fs::rename(&partial, &path)
                .await
                .with_context(|| format!("cannot rename {} into place", partial.display()))?;
        }
        Ok(())
    }
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    // The server (or the next command that owns the index) indexes the calls from the
    // change log, and its report worker writes the reports this queues.
    let store: Arc<dyn Store> = Arc::new(args.store.open(IndexMode::Off, Limits::default())?);
    let (reader, size): (Box<dyn tokio::io::AsyncRead + Unpin + Send>, u64) =
        if args.file.as_os_str() == "-" {
            (Box::new(tokio::io::stdin()), 0)
        } else {
            let file = tokio::fs::File::open(&args.file)
                .await
                .with_context(|| format!("cannot open {}", args.file.display()))?;
            let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
            (Box::new(file), size)
        };
    let progress = crate::progress::bar(size, "importing", "bytes");
    let mut reader = tokio::io::BufReader::with_capacity(1 << 20, reader);
    let format = match args.format {
        ImportFormatArg::Auto => ImportFormat::Auto,
        ImportFormatArg::Ndjson => ImportFormat::Ndjson,
        ImportFormatArg::Vonage => ImportFormat::Vonage,
        ImportFormatArg::Seed004 => ImportFormat::Seed004,
    };
    let mut importer = Importer::new(
        Arc::clone(&store),
        &args.org,
        format,
        (args.max_document_bytes, "--max-document-bytes"),
    );
    let mut line = Vec::new();
    let mut read = 0u64;
    loop {
        line.clear();
        let length = reader
            .read_until(b'\n', &mut line)
            .await
            .context("cannot read the import")?;
        if length == 0 {
            break;
        }
        read += length as u64;
        importer
            .line(line.strip_suffix(b"\n").unwrap_or(&line))
            .await?;
        if size > 0 {
            progress.set_position(read);
        }
    }
    let report = importer.finish().await?;
    progress.finish_and_clear();
    for rejection in &report.rejections {
        eprintln!("line {}: {}", rejection.line, rejection.reason);
    }
    if report.rejected > report.rejections.len() as u64 {
        eprintln!(
            "… and {} more rejected",
            report.rejected - report.rejections.len() as u64
        );
    }
    println!(
        "imported {} calls, updated {}, rejected {}, into organization `{}`",
        report.imported, report.updated, report.rejected, args.org
    );
    Ok(())
}
