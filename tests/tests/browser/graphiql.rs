//! GraphiQL as a dashboard builder opens it: served by the API itself (this
//! machine reaches no CDN, so the page would stay blank otherwise), and able
//! to run a query against the same server from the browser.

use crate::harness::Env;
use fantoccini::Locator;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_from_the_api_and_runs_a_query() {
    let env = Env::start(false).await;
    let b = env.browser(1280, 900).await;
    b.client.goto(&format!("{}/graphql", env.app.base)).await.expect("open GraphiQL");
    b.wait_for(".graphiql-container").await;
    // The starting query asks for `me` with an empty token: run it and the
    // server's coded refusal appears in the result pane.
    b.wait_for(".graphiql-execute-button").await.click().await.expect("run");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = match b.client.find(Locator::Css(".result-window")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains("UNAUTHENTICATED") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no answer in GraphiQL's result pane: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.shot("graphiql").await;
    env.stop(vec![b]).await;
}
