use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = api::cli::Cli::parse();
    if let Err(e) = api::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
