//! Drives Chromium through chromedriver (fantoccini): the app served from its
//! own port, the API on another, optionally through a proxy the test can cut.

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tests::TestApp;

const WAIT: Duration = Duration::from_secs(25);

/// A TCP proxy in front of the API: `set_up(false)` cuts every connection and
/// refuses new ones, as a phone losing coverage sees it; `lose_answers` lets
/// requests through but drops the connection instead of their answers.
pub struct Proxy {
    pub url: String,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    lose: Arc<Mutex<(Vec<u8>, usize, usize)>>,
}

/// Whether this chunk sent to the API names the marked operation while
/// answers are still to be lost (and counts one lost).
fn loses(lose: &Mutex<(Vec<u8>, usize, usize)>, chunk: &[u8]) -> bool {
    let mut l = lose.lock().unwrap();
    let hit = l.1 > 0 && !l.0.is_empty() && chunk.windows(l.0.len()).any(|w| w == l.0.as_slice());
    if hit {
        l.1 -= 1;
        l.2 += 1;
    }
    hit
}

/// Relays one connection; after a request `loses` marks, the API's answer is
/// read and thrown away and the phone's side is closed (signal gone mid-answer).
async fn relay(inbound: tokio::net::TcpStream, target: SocketAddr, lose: Arc<Mutex<(Vec<u8>, usize, usize)>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else { return };
    let ((mut ri, mut wi), (mut ro, mut wo)) = (inbound.into_split(), outbound.into_split());
    let cut = Arc::new(AtomicBool::new(false));
    let cut2 = cut.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = ri.read(&mut buf).await {
            if loses(&lose, &buf[..n]) {
                cut2.store(true, Ordering::SeqCst);
            }
            if wo.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = ro.read(&mut buf).await {
            if cut.load(Ordering::SeqCst) {
                break;
            }
            if wi.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = wi.shutdown().await;
    };
    tokio::join!(up, down);
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let lose = Arc::new(Mutex::new((Vec::new(), 0, 0)));
        let (u, c, l) = (up.clone(), conns.clone(), lose.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !u.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(relay(inbound, target, l.clone()));
                c.lock().unwrap().push(task);
            }
        });
        Self { url, up, conns, lose }
    }

    /// The next `n` requests whose bytes contain `marker` reach the API, but
    /// their answers never reach the phone.
    pub fn lose_answers(&self, marker: &str, n: usize) {
        let mut l = self.lose.lock().unwrap();
        *l = (marker.as_bytes().to_vec(), n, 0);
    }

    /// How many answers were lost so far.
    pub fn lost(&self) -> usize {
        self.lose.lock().unwrap().2
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for t in self.conns.lock().unwrap().drain(..) {
                t.abort();
            }
        }
    }
}

pub struct Env {
    pub app: TestApp,
    pub web: String,
    pub proxy: Option<Proxy>,
    /// In front of the web app's server, cut with the API's in `network(false)`.
    web_proxy: Option<Proxy>,
    driver: std::process::Child,
    driver_url: String,
    shots: PathBuf,
    tmp: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Env {
    pub async fn start(with_proxy: bool) -> Self {
        let dist = std::env::var("TEST_WEB_DIST")
            .expect("TEST_WEB_DIST is not set: run scripts/test.sh, which builds the web app first");
        let web_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let web_addr = web_listener.local_addr().unwrap();
        let web_proxy = if with_proxy { Some(Proxy::start(web_addr).await) } else { None };
        let web = web_proxy.as_ref().map(|p| p.url.clone()).unwrap_or_else(|| format!("http://{web_addr}"));
        let origin = web.clone();
        let app = TestApp::demo_with(move |c| {
            c.cors_origins = vec![origin.clone()];
            c.web_url = origin;
        })
        .await;
        let api_addr: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
        let proxy = if with_proxy { Some(Proxy::start(api_addr).await) } else { None };
        let api_url = proxy.as_ref().map(|p| p.url.clone()).unwrap_or_else(|| app.base.clone());
        let router = api::http::web::router(PathBuf::from(dist), Some(api_url));
        tokio::spawn(async move {
            let _ = axum::serve(web_listener, router).await;
        });
        let port = free_port();
        let driver = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver: apt-get install chromium chromium-driver (scripts/test.sh does)");
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{driver_url}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let shots = std::env::var("SCREENSHOT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../screenshots"));
        std::fs::create_dir_all(&shots).unwrap();
        let tmp = std::env::temp_dir().join(tests::unique("hsv-browser-"));
        std::fs::create_dir_all(&tmp).unwrap();
        Self { app, web, proxy, web_proxy, driver, driver_url, shots, tmp }
    }

    /// The phone's network: off cuts the API and the web app's server alike
    /// (and puts each browser given in offline mode), on brings them back.
    pub async fn network(&self, up: bool, browsers: &[&Browser]) {
        for p in self.proxy.iter().chain(self.web_proxy.iter()) {
            p.set_up(up);
        }
        for b in browsers {
            b.offline(!up).await;
        }
    }

    /// A fresh browser profile in a window of this size (360 × 780 is a phone).
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let profile = self.tmp.join(tests::unique("profile-"));
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={width},{height}"),
            ],
        });
        if width < 600 {
            // A phone: headless windows are at least 500 px wide, so the
            // phone's viewport (and touch) is emulated, as DevTools does.
            options["mobileEmulation"] =
                json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "touch": false } });
        }
        let caps = json!({ "goog:chromeOptions": options });
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.as_object().unwrap().clone())
            .connect(&self.driver_url)
            .await
            .expect("start a Chromium session");
        Browser { client, base: self.web.clone(), shots: self.shots.clone(), phone: width < 600 }
    }

    /// A real JPEG on disk, for the file input.
    pub fn photo_file(&self, seed: u32) -> PathBuf {
        let p = self.tmp.join(format!("front-{seed}.jpg"));
        std::fs::write(&p, tests::jpeg(1024, 768, seed)).unwrap();
        p
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.tmp.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub async fn stop(mut self, browsers: Vec<Browser>) {
        for b in browsers {
            let _ = b.client.close().await;
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

pub struct Browser {
    pub client: Client,
    base: String,
    shots: PathBuf,
    /// An emulated phone viewport, where chromedriver's pointer clicks miss
    /// (its coordinates are the window's, not the emulated screen's).
    phone: bool,
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("navigate");
    }

    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    pub async fn sign_in(&self, user: &str, password: &str) {
        self.goto("/sign-in").await;
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.click("#sign-in").await;
        self.wait_for("#sign-out").await;
    }

    async fn poll<T>(&self, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = self.shot(&format!("failed-{}", what.replace(|c: char| !c.is_alphanumeric(), "_"))).await;
                let body = self.client.find(Locator::Css("body")).await.ok();
                let text = match body {
                    Some(b) => b.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                let errors = self.client.execute("return window.__errors || [];", vec![]).await.ok();
                panic!("timed out waiting for {what}; console errors: {errors:?}; the page says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.poll(css, async || self.client.find(Locator::Css(css)).await.ok()).await
    }

    pub async fn find_all(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    pub async fn wait_count(&self, css: &str, n: usize) {
        self.poll(&format!("{n} × {css}"), async || (self.find_all(css).await == n).then_some(())).await
    }

    pub async fn wait_gone(&self, css: &str) {
        self.poll(&format!("{css} to go"), async || (self.find_all(css).await == 0).then_some(())).await
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap_or_default()
    }

    pub async fn wait_text(&self, css: &str, expected: &str) {
        self.poll(&format!("{css} to say {expected}"), async || {
            let el = self.client.find(Locator::Css(css)).await.ok()?;
            el.text().await.ok().filter(|t| t.contains(expected)).map(|_| ())
        })
        .await
    }

    pub async fn wait_attr(&self, css: &str, attr: &str, value: &str) {
        self.poll(&format!("{css}[{attr}={value}]"), async || {
            let el = self.client.find(Locator::Css(css)).await.ok()?;
            (el.attr(attr).await.ok()?? == value).then_some(())
        })
        .await
    }

    pub async fn value(&self, css: &str) -> String {
        self.wait_for(css).await.prop("value").await.ok().flatten().unwrap_or_default()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear().await.ok();
        el.send_keys(text).await.expect("type");
    }

    /// Sets an input's value as a person's picker would (date inputs take typed
    /// text in the browser's locale order), and tells the app.
    pub async fn set_value(&self, css: &str, value: &str) {
        let el = serde_json::to_value(self.wait_for(css).await).unwrap();
        let js =
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', { bubbles: true }));";
        self.client.execute(js, vec![el, serde_json::json!(value)]).await.expect("set value");
    }

    /// chromedriver's network conditions: offline or not (navigator.onLine follows).
    pub async fn offline(&self, offline: bool) {
        let cmd = NetworkConditions(offline);
        self.client.issue_cmd(cmd).await.expect("network conditions");
    }

    /// Whether an element is disabled (a `disabled` property that is true).
    pub async fn disabled(&self, css: &str) -> bool {
        self.wait_for(css).await.prop("disabled").await.ok().flatten().is_some_and(|v| v == "true")
    }

    /// Fails when the page is wider than the window (sideways scrolling on a phone).
    pub async fn assert_no_sideways_scroll(&self, page: &str) {
        let js = "return [document.documentElement.scrollWidth, window.innerWidth];";
        let v = self.client.execute(js, vec![]).await.expect("measure");
        let (w, inner) = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
        assert!(w <= inner, "{page}: {w} px wide in a {inner} px window");
    }

    /// Fails when the page shows English words (zh-CN is the default): any run
    /// of three or more Latin letters other than the language switch and units.
    pub async fn assert_chinese(&self, page: &str) {
        self.assert_chinese_except(page, &[]).await
    }

    /// The same, also allowing these words (rule codes shown as such).
    pub async fn assert_chinese_except(&self, page: &str, also: &[&str]) {
        let text = self.client.execute("return document.body.innerText", vec![]).await.expect("read the page");
        let text = text.as_str().unwrap_or_default();
        let mut allowed = vec!["English", "KB"];
        allowed.extend_from_slice(also);
        let english: Vec<&str> =
            text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 3 && !allowed.contains(w)).collect();
        assert!(english.is_empty(), "{page} shows English: {english:?}");
    }

    /// Accepts the confirmation the page is showing (waits for it to appear).
    pub async fn accept_confirm(&self) {
        self.poll("a confirmation", async || self.client.accept_alert().await.ok()).await
    }

    pub async fn press_enter(&self, css: &str) {
        self.wait_for(css).await.send_keys("\u{E007}").await.expect("enter");
    }

    pub async fn upload(&self, css: &str, file: &std::path::Path) {
        let el = self.wait_for(css).await;
        el.send_keys(&file.display().to_string()).await.expect("choose file");
    }

    pub async fn click(&self, css: &str) {
        let el = self.wait_for(css).await;
        // To the middle of the screen first: at the bottom edge a phone-sized
        // window's click can land beside the button. Retried while something renders over it.
        let arg = serde_json::to_value(&el).unwrap();
        let _ = self.client.execute("arguments[0].scrollIntoView({ block: 'center' });", vec![arg.clone()]).await;
        if self.phone {
            // A tap: the element must be enabled, as a finger would find it.
            // Clicked after the script returns: a click that opens a confirmation would block it.
            let js =
                "const el = arguments[0]; if (el.disabled) return false; setTimeout(() => el.click(), 0); return true;";
            let tap = async || self.client.execute(js, vec![arg.clone()]).await.ok().filter(|v| v == &json!(true));
            self.poll(&format!("tap {css}"), tap).await;
            return;
        }
        self.poll(&format!("click {css}"), async || el.click().await.ok()).await
    }

    pub async fn shot(&self, name: &str) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.shots.join(format!("{name}.png")), png);
        }
    }

    /// Nothing went to console.error, no uncaught error or rejection.
    pub async fn assert_no_errors(&self) {
        let errors = self.client.execute("return window.__errors || [];", vec![]).await.expect("read errors");
        assert_eq!(errors, json!([]), "errors in the browser console");
    }
}

/// `POST /session/{id}/chromium/network_conditions`.
#[derive(Debug)]
struct NetworkConditions(bool);

impl fantoccini::wd::WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/chromium/network_conditions", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "network_conditions": {
            "offline": self.0, "latency": 0, "download_throughput": 10_000_000, "upload_throughput": 10_000_000 } });
        (http::Method::POST, Some(body.to_string()))
    }
}
