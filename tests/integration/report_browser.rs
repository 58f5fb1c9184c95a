//! `report.html` in a real browser: headless Chromium (Debian's `chromium`,
//! which `.ci/run` and the README's first command install) opens a run's
//! report through the DevTools protocol (over the minimal websocket client
//! below: a websocket crate would change the features of crates the `hwnas`
//! binary shares with the test build, and CI would build them twice); the page must load without a
//! JavaScript error or a console error, a real mouse click on a front point
//! must show that architecture's details, and the screenshot must have the
//! window's size and not be blank. Also: `hwnas report` puts several runs side
//! by side, and `hwnas plot` regenerates the page.

use base64::Engine;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn hwnas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hwnas-under-test"))
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs").join(name)
}

/// Chromium, killed when dropped.
struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1000;

fn launch() -> Browser {
    let exe = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Chromium is not installed: `apt-get install chromium` (the README's first command and .ci/run do)");
    let profile = tempfile::tempdir().expect("profile");
    let child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            &format!("--window-size={WIDTH},{HEIGHT}"),
            &format!("--user-data-dir={}", profile.path().display()),
            "about:blank",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let file = profile.path().join("DevToolsActivePort");
    let start = Instant::now();
    let port = loop {
        if let Some(p) = std::fs::read_to_string(&file).ok().and_then(|t| t.lines().next()?.trim().parse().ok()) {
            break p;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "Chromium did not open its DevTools port");
        std::thread::sleep(Duration::from_millis(100));
    };
    Browser { child, port, _profile: profile }
}

/// The websocket URL of the browser's page (`GET /json/list`).
fn page_ws(port: u16) -> String {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(s, "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
            // Read the headers, then Content-Length bytes (the server may keep
            // the connection open).
            let mut raw = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break String::from_utf8_lossy(&raw).to_string(),
                    Ok(n) => raw.extend_from_slice(&chunk[..n]),
                }
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok());
                    if len.is_some_and(|n| body.len() >= n) {
                        break text;
                    }
                }
            };
            if let Some(json) = body.split("\r\n\r\n").nth(1)
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(json)
                && let Some(url) = v
                    .as_array()
                    .and_then(|a| a.iter().find(|t| t["type"] == "page"))
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                return url.to_string();
            }
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no page target");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A websocket client (RFC 6455) for one DevTools connection: text frames
/// out (masked, as clients must), text frames in (reassembled), pings answered.
struct Socket {
    stream: TcpStream,
}

impl Socket {
    fn connect(url: &str) -> Socket {
        let rest = url.strip_prefix("ws://").expect("ws url");
        let (host, path) = rest.split_once('/').expect("path");
        let mut stream = TcpStream::connect(host).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: aHduYXMtcmVwb3J0LXRlc3Q=\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("handshake");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("handshake response");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "websocket refused: {head}");
        Socket { stream }
    }

    fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut frame = vec![0x80 | opcode];
        let n = payload.len();
        match n {
            0..=125 => frame.push(0x80 | n as u8),
            126..=65535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            _ => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x5a, 0x13, 0xc7, 0x2e];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).expect("send");
    }

    fn send(&mut self, text: &str) {
        self.send_frame(0x1, text.as_bytes());
    }

    /// The next text message.
    fn read(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.stream.read_exact(&mut h).expect("frame header");
            let (fin, opcode) = (h[0] & 0x80 != 0, h[0] & 0x0f);
            let mut len = u64::from(h[1] & 0x7f);
            if len == 126 {
                let mut b = [0u8; 2];
                self.stream.read_exact(&mut b).expect("length");
                len = u64::from(u16::from_be_bytes(b));
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.stream.read_exact(&mut b).expect("length");
                len = u64::from_be_bytes(b);
            }
            let mask = if h[1] & 0x80 != 0 {
                let mut m = [0u8; 4];
                self.stream.read_exact(&mut m).expect("mask");
                Some(m)
            } else {
                None
            };
            let mut payload = vec![0u8; len as usize];
            self.stream.read_exact(&mut payload).expect("payload");
            if let Some(m) = mask {
                payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
            }
            match opcode {
                0x8 => panic!("devtools closed the connection"),
                0x9 => self.send_frame(0xA, &payload),
                0xA => {}
                _ => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return String::from_utf8(message).expect("utf-8 message");
                    }
                }
            }
        }
    }
}

/// A DevTools session on one page: commands by id, events collected.
struct Page {
    ws: Socket,
    next: u64,
    events: Vec<serde_json::Value>,
}

impl Page {
    fn connect(url: &str) -> Page {
        Page { ws: Socket::connect(url), next: 1, events: Vec::new() }
    }

    fn read(&mut self) -> serde_json::Value {
        serde_json::from_str(&self.ws.read()).expect("json")
    }

    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let id = self.next;
        self.next += 1;
        let msg = serde_json::json!({ "id": id, "method": method, "params": params });
        self.ws.send(&msg.to_string());
        loop {
            let v = self.read();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    fn wait_event(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        loop {
            let v = self.read();
            let done = v["method"] == method;
            self.events.push(v);
            if done {
                return;
            }
        }
    }

    fn eval(&mut self, js: &str) -> serde_json::Value {
        let r = self.call("Runtime.evaluate", serde_json::json!({ "expression": js, "returnByValue": true }));
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Console errors, uncaught exceptions and error log entries seen so far.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| {
                (e["method"] == "Runtime.consoleAPICalled" && e["params"]["type"] == "error")
                    || e["method"] == "Runtime.exceptionThrown"
                    || (e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] == "error")
            })
            .map(|e| e.to_string())
            .collect()
    }
}

/// Width, height and number of distinct colours of a PNG.
fn png_stats(bytes: &[u8]) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let px = info.color_type.samples();
    let mut colours: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    colours.sort();
    colours.dedup();
    (info.width, info.height, colours.len())
}

fn open_report(browser: &Browser, report: &Path) -> Page {
    let mut page = Page::connect(&page_ws(browser.port));
    page.call("Runtime.enable", serde_json::json!({}));
    page.call("Log.enable", serde_json::json!({}));
    page.call("Page.enable", serde_json::json!({}));
    page.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({ "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": false }),
    );
    let url = format!("file://{}", report.canonicalize().expect("report").display());
    page.call("Page.navigate", serde_json::json!({ "url": url }));
    page.wait_event("Page.loadEventFired");
    page
}

#[test]
fn the_report_works_in_headless_chromium() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("run");
    let o = hwnas()
        .arg("run")
        .arg(shipped("nb201-cifar10-fpga.toml"))
        .args(["--quiet", "--budget", "80", "--out"])
        .arg(&run)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = run.join("report.html");
    let html = std::fs::read_to_string(&report).expect("report.html");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "the page must not reach the network");
    let pareto: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("pareto.json")).expect("pareto")).expect("json");
    let front: Vec<String> = pareto["front"]
        .as_array()
        .expect("front")
        .iter()
        .map(|m| m["arch"].as_str().expect("arch").to_string())
        .collect();

    let browser = launch();
    let mut page = open_report(&browser, &report);
    assert_eq!(page.eval("document.body.getAttribute('data-ready')"), "1");
    assert_eq!(page.eval("document.querySelectorAll('.pt.front').length").as_u64(), Some(front.len() as u64));
    assert_eq!(
        page.eval("document.querySelectorAll('table.sortable tbody tr').length").as_u64(),
        Some(front.len() as u64)
    );
    assert_eq!(page.eval("document.querySelectorAll('.pt').length").as_u64(), Some(80));

    // A real click on the first front point (through the browser's input).
    let xy = page.eval(
        "(() => { const p = document.querySelector('.pt.front'); p.scrollIntoView({block: 'center'}); \
         const r = p.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()",
    );
    let (x, y) = (xy[0].as_f64().expect("x"), xy[1].as_f64().expect("y"));
    for kind in ["mousePressed", "mouseReleased"] {
        page.call(
            "Input.dispatchMouseEvent",
            serde_json::json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
        );
    }
    let title = page.eval("document.querySelector('.details h4') && document.querySelector('.details h4').textContent");
    assert!(title.as_str().is_some_and(|t| t.contains("on the front")), "no details after the click: {title}");
    let shown = page.eval("document.querySelector('.details code.notation').textContent");
    assert!(front.iter().any(|a| Some(a.as_str()) == shown.as_str()), "details of {shown}, not a front member");
    assert!(page.eval("document.querySelectorAll('.details .drawing svg path').length").as_u64() >= Some(1));
    assert!(page.eval("document.querySelectorAll('.details table tr').length").as_u64() >= Some(3));

    // Sorting the front table by a metric column orders it.
    page.eval("document.querySelectorAll('table.sortable th')[2].click()");
    let col: Vec<f64> = page
        .eval(
            "[...document.querySelectorAll('table.sortable tbody tr')].map(r => parseFloat(r.children[2].textContent))",
        )
        .as_array()
        .expect("column")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    assert!(col.windows(2).all(|w| w[0] <= w[1]), "not sorted: {col:?}");

    let shot = page.call("Page.captureScreenshot", serde_json::json!({ "format": "png" }));
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().expect("data")).expect("base64");
    let (w, h, colours) = png_stats(&png);
    assert_eq!((w, h), (WIDTH, HEIGHT), "screenshot size");
    assert!(colours > 20, "the screenshot is blank ({colours} colours)");
    let errors = page.errors();
    assert!(errors.is_empty(), "errors in the page: {errors:?}");

    // `hwnas plot` regenerates it; `hwnas report` shows several runs.
    std::fs::remove_file(&report).expect("rm");
    assert!(hwnas().arg("plot").arg(&run).output().expect("plot").status.success());
    assert!(report.exists(), "hwnas plot did not regenerate report.html");
    let two = tmp.path().join("two.html");
    let o = hwnas().arg("report").arg(&run).arg(&run).arg("--out").arg(&two).output().expect("report");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut page = open_report(&browser, &two);
    assert_eq!(page.eval("document.querySelectorAll('section.run').length").as_u64(), Some(2));
    assert!(page.errors().is_empty(), "errors in the page: {:?}", page.errors());
}

#[test]
fn a_run_directory_written_before_report_html_still_plots_and_exports() {
    // Written by hwnas before runs recorded their commit and machine and
    // before report.html: config.toml, run.json and trials.jsonl only.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/run-before-provenance");
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).expect("dir");
    for f in ["config.toml", "run.json", "trials.jsonl"] {
        std::fs::copy(fixture.join(f), run.join(f)).expect("copy");
    }
    for cmd in ["plot", "export"] {
        let o = hwnas().arg(cmd).arg(&run).output().expect(cmd);
        assert!(o.status.success(), "{cmd}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let html = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    assert!(html.contains("unknown (not recorded by the run)"), "old runs say what they lack");
    assert!(run.join("pareto.json").exists() && std::fs::read_dir(run.join("export")).expect("export").count() >= 1);
    let o = hwnas().args(["resume", "--quiet"]).arg(&run).output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
