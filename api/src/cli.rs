//! The `api` command line: `serve` (default), `demo`, `issue-accounts`, `schema`.

use crate::config::{Config, LogFormat, Opts};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "api", version, about = "Housing-safety verification API server (住房安全有保障核验)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub opts: Opts,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the API server (the default).
    Serve,
    /// Load the Gucheng County demo (regions, 4553 households, campaign, accounts); safe to run twice.
    Demo,
    /// Load the demo if the database is empty, then serve.
    ServeDemo,
    /// Issue (or re-issue) accounts for every township and village under a region, writing the printable sheet.
    IssueAccounts {
        /// 12-digit region code, e.g. 131126000000.
        #[arg(long)]
        region: String,
        /// Where to write the printable HTML sheet.
        #[arg(long, default_value = "accounts-sheet.html")]
        out: std::path::PathBuf,
    },
    /// Import an official spreadsheet (regions, poverty, appraisal or renovation) into a campaign.
    Import {
        /// regions | poverty | appraisal | renovation
        #[arg(long)]
        kind: String,
        #[arg(long)]
        file: std::path::PathBuf,
        /// 12-digit code of the county whose newest campaign receives the data.
        #[arg(long, default_value = "131126000000")]
        county: String,
    },
    /// Recompute every campaign's progress counters from scratch and report any drift.
    Recount,
    /// Recompute the audit trail's hash chain and report the first broken link.
    AuditVerify,
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Serve the built web app (scripts/build-web.sh) on its own port, apart from the API.
    ServeWeb {
        /// The built app: index.html, app.js, app_bg.wasm.
        #[arg(long, default_value = "web/dist")]
        dir: std::path::PathBuf,
        /// Address for the app (not `--bind`, which is the API's).
        #[arg(long, env = "APP_WEB_BIND", default_value = "127.0.0.1:8080")]
        web_bind: String,
        /// The API's address as the browser reaches it; served as /config.json.
        #[arg(long)]
        api_url: Option<String>,
    },
}

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("APP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,async_graphql=warn"));
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Schema) = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    if let Some(Command::ServeWeb { dir, web_bind, api_url }) = cli.command {
        init_tracing(LogFormat::Json);
        return crate::web::serve(dir, &web_bind, api_url).await;
    }
    let cfg = Config::load(&cli.opts)?;
    init_tracing(cfg.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cfg).await,
        Command::ServeDemo => {
            let server = crate::app::build(cfg.clone()).await?;
            crate::demo::load(&server.state, &mut std::io::stdout()).await?;
            serve_built(server).await
        }
        Command::Demo => {
            let server = crate::app::build(cfg).await?;
            crate::demo::load(&server.state, &mut std::io::stdout()).await?;
            Ok(())
        }
        Command::IssueAccounts { region, out } => {
            let server = crate::app::build(cfg).await?;
            crate::demo::issue_accounts_cli(&server.state, &region, &out).await
        }
        Command::Import { kind, file, county } => {
            let server = crate::app::build(cfg).await?;
            crate::demo::import_cli(&server.state, &kind, &file, &county).await
        }
        Command::Recount => {
            use sea_orm::EntityTrait;
            let server = crate::app::build(cfg).await?;
            let state = &server.state;
            let mut total = 0;
            for c in entity::campaign::Entity::find().all(&state.db).await? {
                let (_w, txn) = state.begin().await?;
                let drift = crate::counters::recount(&txn, c.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                txn.commit().await?;
                for d in &drift {
                    println!(
                        "{}: region {} {}: stored {}, actual {}",
                        c.name, d.region_id, d.metric, d.stored, d.actual
                    );
                }
                println!("{}: {} counters drifted", c.name, drift.len());
                total += drift.len();
            }
            if total > 0 {
                println!("The counters were corrected.");
            }
            Ok(())
        }
        Command::AuditVerify => {
            let server = crate::app::build(cfg).await?;
            match crate::audit::verify_chain(&server.state.db).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                Ok(n) => {
                    println!("Audit chain intact: {n} events verified.");
                    Ok(())
                }
                Err(b) => anyhow::bail!("audit chain broken at event {}: {}", b.seq, b.reason),
            }
        }
        Command::Schema | Command::ServeWeb { .. } => Ok(()), // handled above, before any configuration is needed
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let server = crate::app::build(cfg).await?;
    serve_built(server).await
}

async fn serve_built(server: crate::app::Server) -> anyhow::Result<()> {
    let bind = server.state.cfg.bind;
    let listener =
        tokio::net::TcpListener::bind(bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    tracing::info!(%bind, "GraphQL at http://{bind}/graphql");
    crate::app::serve(server, listener).await
}
