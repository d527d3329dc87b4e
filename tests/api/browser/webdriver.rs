//! A small W3C WebDriver client over chromedriver's HTTP API, with the `reqwest` client the
//! tests already use: start chromedriver, open a headless Chromium session, find, type, click,
//! switch frames and read logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key W3C WebDriver names element references by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a condition may take to come true (a card check runs server-side in between).
const DEADLINE: Duration = Duration::from_secs(20);

/// The programs the browser tests need.
pub struct Programs {
    pub chromedriver: String,
    pub chromium: String,
}

impl Programs {
    /// The programs when `VAULTQL_TEST_BROWSER` is set, else `None` with a note printed. Panics
    /// when it is set and they are missing, so that an enabled run cannot pass by skipping.
    pub fn from_env(test: &str) -> Option<Programs> {
        if std::env::var_os("VAULTQL_TEST_BROWSER").is_none() {
            eprintln!("{test}: skipped (set VAULTQL_TEST_BROWSER=1 to run it in Chromium)");
            return None;
        }
        let chromedriver = std::env::var("VAULTQL_TEST_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium =
            std::env::var("VAULTQL_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        for program in [&chromedriver, &chromium] {
            assert!(
                std::path::Path::new(program).exists(),
                "VAULTQL_TEST_BROWSER is set but {program} is missing \
                 (apt-get install chromium chromium-driver)"
            );
        }
        Some(Programs {
            chromedriver,
            chromium,
        })
    }
}

/// A chromedriver process with one browser session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    port: u16,
    /// `/session/{id}`; empty until the session exists.
    session: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port, waits for it to say it is ready, and opens a headless
    /// Chromium session that records the console and the network (performance) log.
    pub async fn start(programs: &Programs) -> Browser {
        let (driver, port) = start_driver(&programs.chromedriver);
        let profile = tempfile::Builder::new()
            .prefix("chromium-profile-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a profile directory");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": programs.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        }}});
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            client,
            _profile: profile,
        };
        let answer = browser
            .call(reqwest::Method::POST, "/session", Some(capabilities))
            .await;
        let id = answer["sessionId"].as_str().expect("a session id");
        browser.session = format!("/session/{id}");
        browser
            .post(
                "/timeouts",
                json!({ "implicit": 10_000, "pageLoad": 30_000 }),
            )
            .await;
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let json: Value = response.json().await.expect("a WebDriver JSON answer");
        assert!(
            status.is_success(),
            "WebDriver {method} {path} -> {status} {json}"
        );
        json["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let path = format!("{}{path}", self.session);
        self.call(reqwest::Method::POST, &path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        let path = format!("{}{path}", self.session);
        self.call(reqwest::Method::GET, &path, None).await
    }

    pub async fn navigate(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The element `css` selects, waiting (implicitly) for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let found = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await;
        found[ELEMENT]
            .as_str()
            .expect("an element reference")
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let text = self.get(&format!("/element/{element}/text")).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The current value of an attribute or property (`value` of an input is what was typed).
    pub async fn property(&self, css: &str, name: &str) -> Value {
        let element = self.find(css).await;
        self.get(&format!("/element/{element}/property/{name}"))
            .await
    }

    async fn is_enabled(&self, css: &str) -> bool {
        let element = self.find(css).await;
        self.get(&format!("/element/{element}/enabled")).await == json!(true)
    }

    /// Polls `css`'s text until `done` holds for it; panics with the last text at the deadline.
    pub async fn wait_for_text(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let text = self.text(css).await;
            if done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} still reads {text:?} after {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until `css` is enabled (the demo enables "Save card" once the fields are ready).
    pub async fn wait_until_enabled(&self, css: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.is_enabled(css).await {
            assert!(
                Instant::now() < deadline,
                "{css} is still disabled after {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Switches into the (first) iframe of the current page.
    pub async fn enter_frame(&self) {
        let frame = self.find("iframe").await;
        self.post("/frame", json!({ "id": { ELEMENT: frame } }))
            .await;
    }

    pub async fn leave_frame(&self) {
        self.post("/frame/parent", json!({})).await;
    }

    /// Runs `script` in the page (its `arguments` are `args`); answers what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    pub async fn source(&self) -> String {
        let source = self.get("/source").await;
        source.as_str().unwrap_or_default().to_owned()
    }

    /// The entries of a log (`browser` or `performance`) since it was last read, through
    /// chromedriver's legacy endpoint.
    pub async fn log(&self, kind: &str) -> Vec<Value> {
        let entries = self.post("/se/log", json!({ "type": kind })).await;
        entries.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Deleting the session ends Chromium (killing chromedriver alone could leave it
        // running). A plain blocking request: drop cannot await, and may run in a panic.
        if !self.session.is_empty() {
            let _ = delete(self.port, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn delete(port: u16, path: &str) -> std::io::Result<()> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(())
}

/// Starts chromedriver on a free port and returns once it printed that it started (or panics
/// with what it printed instead). A port taken between the probe and the start is retried.
fn start_driver(program: &str) -> (Child, u16) {
    let mut output = String::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} does not start: {e}"));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let (sender, lines) = mpsc::channel();
        // The reader keeps draining stdout after the ready line, so chromedriver never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        while let Ok(line) = lines.recv_timeout(DEADLINE) {
            if line.contains("was started successfully") {
                return (child, port);
            }
            output.push_str(&line);
            output.push('\n');
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("chromedriver did not start:\n{output}");
}
