//! The `api` command line: `serve` (default), `init`, `campaign create`, `import`,
//! `issue-accounts`, `demo`, `recount`, `audit-verify`, `schema`, `serve-web`.

use crate::{
    config::{Config, LogFormat, Opts},
    operator,
};
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
    /// Start a real county (or a city, province or the nation above counties): load the
    /// official region list and create the region's first ADMIN (initial password from
    /// APP_ADMIN_PASSWORD, or generated and printed once). Running it again for a region
    /// that has an ADMIN changes nothing.
    Init {
        /// The statistics bureau's region list (CSV or .xlsx): 区划代码, 名称, 级别, 上级区划代码.
        #[arg(long)]
        regions: std::path::PathBuf,
        /// Username of the first ADMIN account.
        #[arg(long)]
        admin: String,
        /// 12-digit code of the region whose ADMIN this is: the county when the file
        /// holds several, or a city, province or the nation (000000000000) above them.
        #[arg(long, alias = "county")]
        region: Option<String>,
        /// The first ADMIN's initial password (changed at first sign-in).
        #[arg(long, env = "APP_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Campaigns: `api campaign create …`.
    Campaign {
        #[command(subcommand)]
        action: CampaignCommand,
    },
    /// Issue (or re-issue) accounts for every township and village under a region, writing the printable sheet.
    IssueAccounts {
        /// The ADMIN account to act as (default: the county's only ADMIN).
        #[arg(long = "as")]
        as_user: Option<String>,
        /// 12-digit region code, e.g. 131126000000.
        #[arg(long)]
        region: String,
        /// Where to write the printable HTML sheet.
        #[arg(long, default_value = "accounts-sheet.html")]
        out: std::path::PathBuf,
        /// Re-issuing resets accounts in use: repeat the region code here to confirm.
        #[arg(long)]
        confirm: Option<String>,
    },
    /// Import an official spreadsheet (regions, poverty, appraisal or renovation) into a campaign.
    Import {
        /// The ADMIN account to act as, recorded in the audit trail (default: the county's only ADMIN).
        #[arg(long = "as")]
        as_user: Option<String>,
        /// Preview: read, apply and check the file, print what it would do, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// regions | poverty | appraisal | renovation
        #[arg(long)]
        kind: String,
        #[arg(long)]
        file: std::path::PathBuf,
        /// 12-digit code of the county whose ADMIN acts when `--as` is not given;
        /// the data goes to the newest campaign that account sees.
        #[arg(long, default_value = "131126000000")]
        county: String,
    },
    /// Recompute every campaign's progress counters from scratch and report any drift.
    Recount,
    /// Recompute the audit trail's hash chain and report the first broken link.
    AuditVerify {
        /// An anchor taken earlier (`<seq>:<hash>`, from /metrics `hsv_audit_head` or the
        /// log's "audit head"): also checks that the chain still reaches it, so
        /// deleting the newest events is found.
        #[arg(long)]
        expect: Option<crate::domain::audit::Head>,
    },
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

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Create a campaign for a county (or a city, province or the nation, which counties
    /// then join), with the milestones of a template.
    Create {
        /// The ADMIN account to act as.
        #[arg(long = "as")]
        as_user: String,
        /// 12-digit code of the region covered: a county, city, province or 000000000000.
        #[arg(long = "region", alias = "county")]
        county: String,
        /// The campaign's name, e.g. "2026 住房安全核验".
        #[arg(long)]
        name: String,
        /// First day, YYYY-MM-DD, in the campaign's time zone.
        #[arg(long)]
        starts_on: chrono::NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        ends_on: chrono::NaiveDate,
        /// IANA time zone the dates are read in.
        #[arg(long, default_value = "Asia/Shanghai")]
        time_zone: String,
        /// pilot-2020 (training, household verification, look-back review) or none.
        #[arg(long, default_value = "pilot-2020")]
        template: String,
    },
}

pub fn init_tracing(format: LogFormat) {
    let _ = init_tracing_with_otel(format);
}

/// Logs to stdout (filtered by `APP_LOG`) and, when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set, spans (one per request and per resolver) to that OpenTelemetry
/// collector over OTLP/HTTP. Keep the returned provider and shut it down at
/// exit so the last spans are sent.
pub fn init_tracing_with_otel(format: LogFormat) -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, Layer};
    let filter = tracing_subscriber::EnvFilter::try_from_env("APP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,async_graphql=warn"));
    let fmt = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().with_filter(filter).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().with_filter(filter).boxed(),
    };
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.trim().is_empty());
    let provider = endpoint.and_then(|e| {
        use opentelemetry::trace::TracerProvider;
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", e.trim_end_matches('/')))
            .build()
            .map_err(|err| eprintln!("OpenTelemetry export is off: {err}"))
            .ok()?;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(opentelemetry_sdk::Resource::builder().with_service_name("hsv-api").build())
            .build();
        Some((provider.clone(), provider.tracer("hsv-api")))
    });
    match provider {
        Some((provider, tracer)) => {
            // Spans of our code and of every GraphQL resolver, not of SQL drivers.
            let otel = tracing_opentelemetry::layer().with_tracer(tracer).with_filter(
                tracing_subscriber::EnvFilter::new("info,sqlx=off,sea_orm=off,hyper=off,h2=off,reqwest=off"),
            );
            let _ = tracing_subscriber::registry().with(fmt).with(otel).try_init();
            Some(provider)
        }
        None => {
            let _ = tracing_subscriber::registry().with(fmt).try_init();
            None
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Schema) = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    if let Some(Command::ServeWeb { dir, web_bind, api_url }) = cli.command {
        init_tracing(LogFormat::Json);
        return crate::http::web::serve(dir, &web_bind, api_url).await;
    }
    let cfg = Config::load(&cli.opts)?;
    let otel = init_tracing_with_otel(cfg.log_format);
    let result = run_command(cli, cfg).await;
    if let Some(p) = otel {
        // Sends the spans still in the batch (a blocking call: off the async threads).
        let _ = tokio::task::spawn_blocking(move || p.shutdown()).await;
    }
    result
}

async fn run_command(cli: Cli, cfg: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cfg).await,
        Command::ServeDemo => {
            let server = crate::http::build(cfg.clone()).await?;
            crate::demo::load(&server.state, &mut std::io::stdout()).await?;
            serve_built(server).await
        }
        Command::Demo => {
            let server = crate::http::build(cfg).await?;
            crate::demo::load(&server.state, &mut std::io::stdout()).await?;
            Ok(())
        }
        Command::Init { regions, admin, region, admin_password } => {
            let server = crate::http::build(cfg).await?;
            operator::init(&server.state, &regions, &admin, region.as_deref(), admin_password.as_deref()).await
        }
        Command::Campaign {
            action: CampaignCommand::Create { as_user, county, name, starts_on, ends_on, time_zone, template },
        } => {
            let server = crate::http::build(cfg).await?;
            let args = operator::CampaignArgs {
                as_user: &as_user,
                county: &county,
                name: &name,
                time_zone: &time_zone,
                starts_on,
                ends_on,
                template: &template,
            };
            operator::create_campaign(&server.state, args).await
        }
        Command::IssueAccounts { as_user, region, out, confirm } => {
            let server = crate::http::build(cfg).await?;
            operator::issue_accounts(&server.state, as_user.as_deref(), &region, &out, confirm.as_deref()).await
        }
        Command::Import { as_user, dry_run, kind, file, county } => {
            let server = crate::http::build(cfg).await?;
            operator::import(&server.state, as_user.as_deref(), &county, &kind, &file, dry_run).await
        }
        Command::Recount => {
            use sea_orm::EntityTrait;
            let server = crate::http::build(cfg).await?;
            let state = &server.state;
            let mut total = 0;
            for c in entity::campaign::Entity::find().all(&state.db).await? {
                let tx = crate::domain::tx::Tx::begin(state, Default::default()).await?;
                let drift =
                    crate::domain::counters::recount(tx.conn(), c.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                // Counters are derived figures: correcting them changes no record.
                tx.commit_bookkeeping(state).await?;
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
        Command::AuditVerify { expect } => {
            use crate::domain::audit;
            let server = crate::http::build(cfg).await?;
            let db = &server.state.db;
            let result = match &expect {
                Some(anchor) => audit::verify_against(db, anchor).await,
                None => audit::verify_chain(db).await,
            };
            match result.map_err(|e| anyhow::anyhow!("{e}"))? {
                Ok(n) => {
                    let head = audit::head(db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    let anchor = head.map(|h| h.to_string()).unwrap_or_else(|| "none".into());
                    println!("Audit chain intact: {n} events verified. Head (keep it to check against): {anchor}");
                    Ok(())
                }
                Err(b) => anyhow::bail!("audit chain broken at event {}: {}", b.seq, b.reason),
            }
        }
        Command::Schema | Command::ServeWeb { .. } => Ok(()), // handled above, before any configuration is needed
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let server = crate::http::build(cfg).await?;
    serve_built(server).await
}

async fn serve_built(server: crate::http::Server) -> anyhow::Result<()> {
    let bind = server.state.cfg.bind;
    let listener =
        tokio::net::TcpListener::bind(bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    tracing::info!(%bind, "GraphQL at http://{bind}/graphql");
    crate::http::serve(server, listener).await
}
