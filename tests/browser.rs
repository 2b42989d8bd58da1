//! The interactive SVG in a real browser: headless Chromium loads generated files and
//! the script mirrors its state on the root element (`data-ready`, `data-errors`,
//! `data-zoom-*`, `data-matched-*`), read back with `--dump-dom`. They run with
//! `FLAMEPROF_EXTERNAL_TESTS=1`, and then fail without Chromium.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{data, external, run};

/// The Chromium binary, or `None` when the external tests are off. Panics when they are
/// on and it is missing.
pub(crate) fn chromium() -> Option<PathBuf> {
    if !external("Chromium") {
        return None;
    }
    let candidates = [
        std::env::var_os("FLAMEPROF_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
        Some(PathBuf::from("/usr/bin/google-chrome")),
    ];
    match candidates.into_iter().flatten().find(|p| p.exists()) {
        Some(p) => Some(p),
        None => panic!(
            "Chromium not found (tried FLAMEPROF_CHROMIUM, /usr/bin/chromium, chromium-browser, google-chrome).\n\
             Install it (apt-get install chromium), or leave FLAMEPROF_EXTERNAL_TESTS unset to skip the browser tests."
        ),
    }
}

/// The flags every headless Chromium run here takes: no sandbox (tests run as root),
/// nothing fetched or synced.
const HEADLESS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
];

/// How long one Chromium run may take before the test kills it and fails: generous
/// (a run takes a second or two), but bounded, so a page that never settles (a modal
/// `alert()` blocks `--dump-dom`) fails the test instead of hanging it.
const BROWSE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs headless Chromium on `url` with extra `args`; returns stdout.
pub(crate) fn browse(chrome: &Path, args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    // Output to files, not pipes: a DOM larger than a pipe's buffer would block
    // Chromium while this thread waits for it to exit.
    let stdout = profile.path().join("stdout");
    let stderr = profile.path().join("stderr");
    let mut child = Command::new(chrome)
        .args(HEADLESS)
        .args(["--hide-scrollbars", "--window-size=1280,900"])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("data").display()
        ))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("run chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > BROWSE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSE_TIMEOUT:?} on {url}: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed on {url}: {}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    String::from_utf8_lossy(&std::fs::read(&stdout).unwrap()).into_owned()
}

/// Writes the SVG of `rel` (with `args`) into `dir`; returns its `file://` URL.
fn svg_file(dir: &Path, rel: &str, args: &[&str]) -> (PathBuf, String) {
    let path = dir.join("graph.svg");
    let input = data(rel).display().to_string();
    let mut all = vec!["-o", path.to_str().unwrap(), &input];
    all.extend_from_slice(args);
    run(&all).ok();
    let url = format!("file://{}", path.display());
    (path, url)
}

/// The value of attribute `name` on the root `<svg>` of a dumped DOM.
fn root_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<svg")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// The opening tag of the element with `id="id"`.
fn tag_with_id<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element #{id}"));
    let start = dom[..at].rfind('<').unwrap();
    &dom[start..at + dom[at..].find('>').unwrap()]
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let at = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    &tag[at..at + tag[at..].find('"').unwrap()]
}

/// The `n`th frame rect (0-based) of the view `id` in the dumped DOM.
fn frame_rect<'a>(dom: &'a str, view: &str, n: usize) -> &'a str {
    let open = tag_with_id(dom, view);
    let body = &dom[dom.find(open).unwrap()..];
    let body = &body[..body.find("</svg>").unwrap()];
    body.match_indices("<rect ")
        .nth(n)
        .map(|(i, _)| &body[i..i + body[i..].find('>').unwrap()])
        .expect("frame rect")
}

fn assert_loaded(dom: &str) {
    assert_eq!(
        root_attr(dom, "data-ready").as_deref(),
        Some("1"),
        "script did not finish:\n{}",
        &dom[..dom.len().min(800)]
    );
    assert_eq!(
        root_attr(dom, "data-errors").as_deref(),
        Some(""),
        "script errors"
    );
}

#[test]
fn script_loads_without_errors_on_every_real_profile() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (rel, args) in [
        ("real/pylint.prof", &[][..]),
        ("real/sympy.prof", &["--width", "900"][..]),
        (
            "pstats/real_cprofile_small_py311.prof",
            &["--inverted-only", "--subtitle", "<&>"][..],
        ),
        (
            "real/pygments.prof",
            &["--flame-only", "--threshold", "0"][..],
        ),
    ] {
        let (_, url) = svg_file(dir.path(), rel, args);
        let dom = browse(&chrome, &["--dump-dom"], &url);
        assert_loaded(&dom);
        for view in ["flame", "inverted"] {
            let expected = match args.first() {
                Some(&"--flame-only") if view == "inverted" => None,
                Some(&"--inverted-only") if view == "flame" => None,
                _ => Some("-1".to_string()),
            };
            assert_eq!(
                root_attr(&dom, &format!("data-zoom-{view}")),
                expected,
                "{rel} {args:?}"
            );
        }
    }
}

/// Share of the folded total in stacks holding a frame whose function name matches.
fn folded_share(rel: &str, matches: impl Fn(&str) -> bool) -> f64 {
    let text = run(&["-f", "log", &data(rel).display().to_string()])
        .ok()
        .stdout_text();
    let (mut hit, mut all) = (0.0, 0.0);
    for line in text.lines() {
        let (stack, v) = line.rsplit_once(' ').unwrap();
        let v: f64 = v.parse().unwrap();
        all += v;
        if stack
            .split(';')
            .any(|f| matches(f.rsplit(':').next().unwrap()))
        {
            hit += v;
        }
    }
    100.0 * hit / all
}

#[test]
fn url_parameters_restore_zoom_and_search() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = svg_file(dir.path(), "real/pylint.prof", &[]);
    let dom = browse(
        &chrome,
        &["--dump-dom"],
        &format!("{url}#flame=40&inverted=3&s=%5C(_%3Fcheck_astroid_module%5C)"),
    );
    assert_loaded(&dom);
    assert_eq!(root_attr(&dom, "data-zoom-flame").as_deref(), Some("40"));
    assert_eq!(root_attr(&dom, "data-zoom-inverted").as_deref(), Some("3"));
    assert_eq!(
        root_attr(&dom, "data-search").as_deref(),
        Some(r"\(_?check_astroid_module\)")
    );
    // The zoomed view spans exactly the zoomed frame.
    for (view, n) in [("flame", 40), ("inverted", 3)] {
        let rect = frame_rect(&dom, view, n);
        let view_box = attr(tag_with_id(&dom, view), "viewBox").to_string();
        let expected_prefix = format!("{} 0 {} ", attr(rect, "x"), attr(rect, "width"));
        assert!(
            view_box.starts_with(&expected_prefix),
            "{view}: viewBox {view_box}, frame {rect}"
        );
    }
    // Its ancestors are dimmed; Reset Zoom is offered.
    assert!(
        attr(frame_rect(&dom, "flame", 0), "class")
            .split(' ')
            .any(|c| c == "d"),
        "root frame not dimmed"
    );
    assert!(!attr(tag_with_id(&dom, "reset"), "class").contains("off"));
    // Matched % agrees with the folded output, computed independently.
    let expected = folded_share("real/pylint.prof", |name| {
        name == "check_astroid_module" || name == "_check_astroid_module"
    });
    let matched: f64 = root_attr(&dom, "data-matched-flame")
        .expect("data-matched-flame")
        .parse()
        .unwrap();
    assert!(
        expected > 1.0 && (matched - expected).abs() < 0.02,
        "Matched {matched}%, folded output says {expected:.3}%"
    );
    assert!(
        dom.contains("% of zoomed)"),
        "no zoom-relative Matched readout"
    );
}

#[test]
fn search_is_case_insensitive_unless_asked() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = svg_file(dir.path(), "real/pylint.prof", &[]);
    let insensitive = browse(&chrome, &["--dump-dom"], &format!("{url}?s=CHECK_ASTROID"));
    assert_loaded(&insensitive);
    let m: f64 = root_attr(&insensitive, "data-matched-flame")
        .unwrap()
        .parse()
        .unwrap();
    assert!(m > 1.0, "case-insensitive search matched {m}%");
    let sensitive = browse(
        &chrome,
        &["--dump-dom"],
        &format!("{url}#s=CHECK_ASTROID&cs=1"),
    );
    assert_loaded(&sensitive);
    assert_eq!(
        root_attr(&sensitive, "data-matched-flame").as_deref(),
        Some("0.00")
    );
    assert!(tag_with_id(&sensitive, "case").contains(r#"aria-pressed="true""#));
    // A bad regular expression is reported, not thrown.
    let bad = browse(&chrome, &["--dump-dom"], &format!("{url}#s=%28"));
    assert_loaded(&bad);
    assert_eq!(root_attr(&bad, "data-search").as_deref(), Some(""));
}

#[test]
fn screenshot_is_not_blank() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = svg_file(dir.path(), "real/pylint.prof", &[]);
    let shot = dir.path().join("shot.png");
    browse(
        &chrome,
        &[&format!("--screenshot={}", shot.display())],
        &url,
    );
    let blank_svg = dir.path().join("blank.svg");
    std::fs::write(&blank_svg, r##"<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="900"><rect width="100%" height="100%" fill="#f8f8f8"/></svg>"##).unwrap();
    let blank = dir.path().join("blank.png");
    browse(
        &chrome,
        &[&format!("--screenshot={}", blank.display())],
        &format!("file://{}", blank_svg.display()),
    );
    let (ours, empty) = (
        std::fs::read(&shot).unwrap(),
        std::fs::read(&blank).unwrap(),
    );
    assert!(ours.starts_with(b"\x89PNG") && empty.starts_with(b"\x89PNG"));
    // A PNG of a flat colour compresses to almost nothing; frames and labels do not.
    assert!(
        ours.len() > 20_000 && ours.len() > 10 * empty.len(),
        "screenshot {} bytes, blank {} bytes",
        ours.len(),
        empty.len()
    );
}

/// A page that loads `graph.svg` in an iframe, clicks, hovers and types into it, and
/// writes what happened on its `<body>` as JSON.
const DRIVER: &str = r#"<!doctype html><html><body><iframe id="f" src="graph.svg" style="width:1280px;height:900px"></iframe><script>
var out = {};
document.getElementById('f').onload = function () {
  try {
    var d = this.contentDocument, w = this.contentWindow, root = d.documentElement;
    var key = function (k) { d.dispatchEvent(new w.KeyboardEvent('keydown', { key: k, bubbles: true })); };
    var r = d.getElementById('flame').getElementsByTagName('rect')[5];
    r.dispatchEvent(new w.MouseEvent('click', { bubbles: true }));
    out.afterClick = root.getAttribute('data-zoom-flame');
    out.hash = w.location.hash;
    out.dimmed = d.querySelectorAll('#flame rect.d').length;
    r.dispatchEvent(new w.MouseEvent('mousemove', { bubbles: true, clientX: 100, clientY: 200 }));
    var tip = d.getElementById('tip');
    out.tip = tip ? tip.getAttribute('visibility') + '|' + tip.textContent : '';
    key('Escape');
    out.afterEscape = root.getAttribute('data-zoom-flame');
    out.hashAfterEscape = w.location.hash;
    // The keyboard drives the inverted graph (a differential one too).
    var inv = d.getElementById('inverted').getElementsByTagName('rect')[2];
    inv.focus();
    out.focused = d.activeElement === inv;
    key('Enter');
    out.afterEnter = root.getAttribute('data-zoom-inverted');
    out.flameAfterEnter = root.getAttribute('data-zoom-flame');
    out.details = d.getElementById('details').textContent;
    d.getElementById('case').dispatchEvent(new w.MouseEvent('click', { bubbles: true }));
    out.casePressed = d.getElementById('case').getAttribute('aria-pressed');
    out.errors = root.getAttribute('data-errors');
  } catch (e) {
    out.exception = String(e);
  }
  document.body.setAttribute('data-out', JSON.stringify(out));
};
</script></body></html>"#;

/// Draws `profile` (a path under tests/data) as `graph.svg` beside `driver` (an HTML
/// page that loads it, acts on it and writes what it saw to `data-out`) in a fresh
/// folder, opens the page in Chromium and returns that JSON.
fn drive(chrome: &Path, profile: &str, driver: &str) -> String {
    drive_with(chrome, |dir| drop(svg_file(dir, profile, &[])), driver)
}

/// [`drive`] on the `graph.svg` that `write` puts in the folder it is given.
fn drive_with(chrome: &Path, write: impl FnOnce(&Path), driver: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let page = dir.path().join("driver.html");
    std::fs::write(&page, driver).unwrap();
    let dom = browse(
        chrome,
        &["--allow-file-access-from-files", "--dump-dom"],
        &format!("file://{}", page.display()),
    );
    let at = dom.find("data-out=\"").expect("driver did not finish") + "data-out=\"".len();
    dom[at..at + dom[at..].find('"').unwrap()]
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// What [`DRIVER`] records of a graph it clicked (frame 5), left (Escape), focused and
/// entered (frame 2) and searched case-sensitively, with no script error: the same for
/// the normal SVG and the differential one.
const DRIVEN: [&str; 8] = [
    r#""afterClick":"5""#,
    r##""hash":"#flame=5""##,
    r#""afterEscape":"-1""#,
    r#""hashAfterEscape":"""#,
    r#""focused":true"#,
    r#""afterEnter":"2""#,
    r#""casePressed":"true""#,
    r#""errors":"""#,
];

#[test]
fn click_hover_and_keyboard_drive_the_graph() {
    let Some(chrome) = chromium() else { return };
    let out = drive(&chrome, "real/pylint.prof", DRIVER);
    for expected in DRIVEN {
        assert!(out.contains(expected), "{expected} not in {out}");
    }
    assert!(!out.contains(r#""dimmed":0"#), "no ancestor dimmed: {out}");
    assert!(
        out.contains(r#""tip":"visible|"#)
            && out.contains("of parent")
            && out.contains("of zoomed"),
        "{out}"
    );
    assert!(out.contains("calls here") && out.contains("self "), "{out}");
}

/// `(x, y, width)` of every frame rect, and `(x percent, y, text)` of every label, of
/// view `id` in `svg` text (written or dumped).
type Frames = Vec<(f64, f64, f64)>;
type Labels = Vec<(f64, f64, String)>;

fn frames_and_labels(svg: &str, id: &str) -> (Frames, Labels) {
    let open = tag_with_id(svg, id);
    let body = &svg[svg.find(open).unwrap()..];
    let body = &body[..body.find("</svg>").unwrap()];
    let num = |tag: &str, name: &str| {
        attr(tag, name)
            .trim_end_matches('%')
            .parse::<f64>()
            .unwrap()
    };
    let frames = body
        .match_indices("<rect ")
        .map(|(i, _)| {
            let tag = &body[i..i + body[i..].find('>').unwrap()];
            (num(tag, "x"), num(tag, "y"), num(tag, "width"))
        })
        .collect();
    let open = tag_with_id(svg, &format!("{id}-l"));
    let group = &svg[svg.find(open).unwrap()..];
    let group = &group[..group.find("</g>").unwrap()];
    let labels = group
        .match_indices("<text ")
        .map(|(i, _)| {
            let tag = &group[i..i + group[i..].find('>').unwrap()];
            let text = &group[i + tag.len() + 1..i + group[i..].find("</text>").unwrap()];
            let text = text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            (num(tag, "x"), num(tag, "y"), text)
        })
        .collect();
    (frames, labels)
}

#[test]
fn labels_are_refitted_for_a_narrow_window_and_fit_their_frames() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, url) = svg_file(dir.path(), "real/pylint.prof", &[]);
    let written = std::fs::read_to_string(path).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args([
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .args(["--window-size=640,900", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_loaded(&dom);
    let (_, before) = frames_and_labels(&written, "flame");
    let (frames, after) = frames_and_labels(&dom, "flame");
    assert!(
        !after.is_empty() && after.len() < before.len(),
        "{} labels written, {} after load",
        before.len(),
        after.len()
    );
    // Monospace 12 px font: 7.2 px a character, 3 px padding each side.
    let graph_px = 640.0 * 0.984;
    for (pct, y, text) in &after {
        let tick = (pct - 0.8) / 98.4 * 1e6;
        let width = frames
            .iter()
            .filter(|(x, fy, _)| fy == y && (x - tick).abs() < 20.0)
            .map(|f| f.2)
            .fold(0.0, f64::max);
        let px = width / 1e6 * graph_px;
        let needed = text.chars().count() as f64 * 7.2 + 6.0;
        assert!(
            needed <= px + 0.5,
            "label {text:?} needs {needed} px, its frame is {px:.1} px"
        );
    }
}

/// Runs headless Chromium's `--dump-dom` on `url`, killed after `limit`; `None` when
/// it did not finish in time (a page whose script never returns).
fn dump_dom_within(chrome: &Path, url: &str, limit: std::time::Duration) -> Option<String> {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chrome)
        .args(HEADLESS)
        .arg("--dump-dom")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run chromium");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A search from a shared link must not hang the page: `(a+)+$` backtracks for
/// minutes over a label of forty `a`s and a `!`. It is searched as plain text.
#[test]
fn a_catastrophic_search_in_the_url_does_not_hang_the_page() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}!", "a".repeat(40));
    let mut p = crate::output_hygiene::Prof::new();
    p.row(("x.py", 1, &name), (1, 1, 1.0, 1.0), &[]);
    p.row(("x.py", 2, "(a+)+$"), (1, 1, 1.0, 1.0), &[]);
    let input = dir.path().join("x.prof");
    std::fs::write(&input, p.bytes()).unwrap();
    let svg = dir.path().join("x.svg");
    run(&["-o", svg.to_str().unwrap(), input.to_str().unwrap()]).ok();
    let url = format!("file://{}", svg.display());
    let limit = std::time::Duration::from_secs(20);
    let dom = dump_dom_within(&chrome, &format!("{url}#s=(a%2B)%2B%24"), limit)
        .expect("the page hung on the search from its URL");
    assert_loaded(&dom);
    assert_eq!(root_attr(&dom, "data-search").as_deref(), Some("(a+)+$"));
    assert_eq!(root_attr(&dom, "data-search-literal").as_deref(), Some("1"));
    // As plain text, the pattern is the name of the second function: half the time.
    assert_eq!(
        root_attr(&dom, "data-matched-flame").as_deref(),
        Some("50.00")
    );
    // A safe pattern is still a regular expression.
    let dom = dump_dom_within(&chrome, &format!("{url}#s=a%2B"), limit).unwrap();
    assert_eq!(root_attr(&dom, "data-search-literal"), None);
    assert_eq!(
        root_attr(&dom, "data-matched-flame").as_deref(),
        Some("100.00")
    );
}

/// A page that hovers a guessed, a close and an exact frame with cut children in
/// `graph.svg`, and writes the tooltip lines of each on its `<body>` as JSON.
const GRADES_DRIVER: &str = r#"<!doctype html><html><body><iframe id="f" src="graph.svg" style="width:1280px;height:900px"></iframe><script>
var out = {};
document.getElementById('f').onload = function () {
  try {
    var d = this.contentDocument, w = this.contentWindow;
    var rects = d.getElementById('flame').getElementsByTagName('rect');
    var rows = w.FLAMEPROF.views.flame.f;
    var tip = function (i) {
      rects[i].dispatchEvent(new w.MouseEvent('mousemove', { bubbles: true, clientX: 100, clientY: 200 }));
      var spans = d.getElementById('tip').getElementsByTagName('tspan');
      return Array.prototype.map.call(spans, function (t) { return t.textContent; }).join(' | ');
    };
    for (var i = 0; i < rects.length; i++) {
      var c = rects[i].classList;
      if (c.contains('g') && !out.guess) out.guess = tip(i);
      if (c.contains('e') && !c.contains('g') && !out.close) out.close = tip(i);
      if (!c.contains('e') && rows[i].length > 4 && !out.cut) {
        out.cut = tip(i);
        out.cutFrames = rows[i][5];
      }
    }
    out.errors = d.documentElement.getAttribute('data-errors');
  } catch (e) {
    out.exception = String(e);
  }
  document.body.setAttribute('data-out', JSON.stringify(out));
};
</script></body></html>"#;

#[test]
fn tooltips_name_the_grade_and_keep_cut_time_apart_from_self() {
    let Some(chrome) = chromium() else { return };
    let out = drive(&chrome, "real/pip_list.prof", GRADES_DRIVER);
    let field = |name: &str| {
        let key = format!("\"{name}\":");
        let at = out
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            + key.len();
        let value = &out[at..];
        match value.strip_prefix('"') {
            Some(text) => text[..text.find('"').unwrap()].to_string(),
            None => value[..value.find([',', '}']).unwrap()].to_string(),
        }
    };
    assert_eq!(field("errors"), "", "{out}");
    let guess = field("guess");
    assert!(
        guess.contains("| rough guess (split between callers): the data allows "),
        "{out}"
    );
    let close = field("close");
    assert!(
        close.contains("| close estimate (split between callers): the data allows "),
        "{out}"
    );
    let cut = field("cut");
    let n: u64 = field("cutFrames").parse().unwrap();
    let apart = format!(
        " in {n} frame{} too small to draw |",
        if n == 1 { "" } else { "s" }
    );
    assert!(
        cut.contains(", self ") && cut.contains(" + ") && cut.contains(&apart),
        "{out}"
    );
    assert!(!cut.contains("estimate") && !cut.contains("guess"), "{out}");
}

/// A page that loads `graph.svg` in a 1400×1000 frame and, for each graph, finds its
/// root (the widest frame) and the root's widest child (the widest frame one row from
/// it, inside it), and writes on its `<body>` whether each lies inside the window with
/// a label inside the window too, and where the footer's text ends. It reads only the markup, so it works with the
/// script left out. The flame graph is looked at as the file opens; the inverted graph
/// after its button (`#to-inverted`) is pressed, or, without the script, after the
/// window is scrolled to its caption as a reader would.
const FIRST_SCREEN_DRIVER: &str = r#"<!doctype html><html><body style="margin:0"><iframe id="f" src="graph.svg" style="width:1400px;height:1000px;border:0"></iframe><script>
var out = {};
document.getElementById('f').onload = function () {
  try {
    var d = this.contentDocument, w = this.contentWindow;
    var row = +d.documentElement.getAttribute('data-row');
    var inside = function (b) { return b.width > 0 && b.top >= 0 && b.bottom <= w.innerHeight && b.left >= 0 && b.right <= w.innerWidth; };
    var describe = function (id, r) {
      if (!r) return { ok: false, missing: true };
      var b = r.getBoundingClientRect(), label = null, shown = false;
      var texts = d.getElementById(id + '-l').getElementsByTagName('text');
      for (var k = 0; k < texts.length; k++) {
        var t = texts[k], tb = t.getBoundingClientRect();
        if (t.getAttribute('y') === r.getAttribute('y') && tb.left >= b.left - 1 && tb.left < b.right) {
          label = t.textContent;
          shown = inside(tb) && tb.right <= b.right + 1 && label.length >= 3;
          break;
        }
      }
      return { ok: inside(b) && shown, name: r.getAttribute('aria-label'), top: Math.round(b.top), label: label };
    };
    var look = function (id) {
      var rects = d.getElementById(id).getElementsByTagName('rect'), root = null, child = null;
      var num = function (r, a) { return +r.getAttribute(a); };
      for (var k = 0; k < rects.length; k++) if (!root || num(rects[k], 'width') > num(root, 'width')) root = rects[k];
      for (var k = 0; k < rects.length; k++) {
        var r = rects[k];
        if (Math.abs(num(r, 'y') - num(root, 'y')) === row && num(r, 'x') >= num(root, 'x') &&
            num(r, 'x') < num(root, 'x') + num(root, 'width') && (!child || num(r, 'width') > num(child, 'width'))) child = r;
      }
      return { root: describe(id, root), child: describe(id, child) };
    };
    out.flame = look('flame');
    var jump = d.getElementById('to-inverted');
    if (jump) {
      jump.dispatchEvent(new w.MouseEvent('click', { bubbles: true }));
    } else {
      w.scrollTo(0, d.getElementById('inverted').getBoundingClientRect().top - 30);
    }
    out.button = !!jump;
    out.scrolled = w.scrollY > 0;
    out.inverted = look('inverted');
    var right = 0, foot = d.querySelectorAll('.foot');
    for (var k = 0; k < foot.length; k++) right = Math.max(right, foot[k].getBoundingClientRect().right);
    out.footRight = Math.ceil(right);
    out.errors = d.documentElement.getAttribute('data-errors');
  } catch (e) {
    out.exception = String(e);
  }
  document.body.setAttribute('data-out', JSON.stringify(out));
};
</script></body></html>"#;

/// Records the tooltip of the first frame of a Python function and of a builtin.
const LABEL_DRIVER: &str = r#"<!doctype html><html><body><iframe id="f" src="graph.svg" style="width:1280px;height:900px"></iframe><script>
var out = {};
document.getElementById('f').onload = function () {
  try {
    var d = this.contentDocument, w = this.contentWindow;
    var rects = d.getElementById('flame').getElementsByTagName('rect');
    var rows = w.FLAMEPROF.views.flame.f, fns = w.FLAMEPROF.fn;
    var tip = function (i) {
      rects[i].dispatchEvent(new w.MouseEvent('mousemove', { bubbles: true, clientX: 100, clientY: 200 }));
      var spans = d.getElementById('tip').getElementsByTagName('tspan');
      return Array.prototype.map.call(spans, function (t) { return t.textContent; }).join(' | ');
    };
    for (var i = 0; i < rects.length; i++) {
      var builtin = fns[rows[i][0]][4] === 'b';
      if (builtin && !out.builtin) out.builtin = tip(i);
      if (!builtin && !out.python) out.python = tip(i);
    }
    out.errors = d.documentElement.getAttribute('data-errors');
  } catch (e) {
    out.exception = String(e);
  }
  document.body.setAttribute('data-out', JSON.stringify(out));
};
</script></body></html>"#;

/// A profile deeper than the window: `main` spends 60 % in `wide` and 39 % down a
/// chain of 150 calls, 3,600 px of rows.
fn deep_tower() -> crate::output_hygiene::Prof {
    let mut p = crate::output_hygiene::Prof::new();
    p.row(("app.py", 1, "main"), (1, 1, 0.1, 10.0), &[]);
    let main = ("app.py", 1, "main");
    p.row(
        ("app.py", 2, "wide"),
        (1, 1, 6.0, 6.0),
        &[(main, (1, 1, 6.0, 6.0))],
    );
    let n = 150;
    let names: Vec<String> = (0..n).map(|i| format!("level{i}")).collect();
    let step = 3.9 / f64::from(n);
    for i in 0..n {
        let ct = step * f64::from(n - i);
        let caller = if i == 0 {
            main
        } else {
            ("tower.py", i - 1, names[i as usize - 1].as_str())
        };
        let key = ("tower.py", i, names[i as usize].as_str());
        p.row(key, (1, 1, step, ct), &[(caller, (1, 1, step, ct))]);
    }
    p
}

/// Issue 18: the first screen of a deep profile showed no root. For each graph, the
/// root and its widest child must be in the 1400×1000 window, labelled: the flame
/// graph as the file opens, the inverted graph once its button is pressed (or, with
/// the script left out, once the window is scrolled to it). The footer must end
/// inside the window too.
#[test]
fn the_first_screen_shows_the_roots_labelled_however_deep() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.prof");
    std::fs::write(&deep, deep_tower().bytes()).unwrap();
    let pip = data("real/pip_list.prof");
    for (input, args) in [
        (pip.as_path(), &[][..]),
        (deep.as_path(), &[][..]),
        (deep.as_path(), &["--no-script"][..]),
    ] {
        let page = tempfile::tempdir().unwrap();
        let svg = page.path().join("graph.svg");
        let mut all = vec!["-o", svg.to_str().unwrap(), input.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all).ok();
        let written = std::fs::read_to_string(&svg).unwrap();
        let height: f64 = attr(&written[written.find("<svg").unwrap()..], "height")
            .parse()
            .unwrap();
        assert!(height > 2000.0, "{input:?} is not deeper than the window");
        let driver = page.path().join("driver.html");
        std::fs::write(&driver, FIRST_SCREEN_DRIVER).unwrap();
        let dom = browse(
            &chrome,
            &["--allow-file-access-from-files", "--dump-dom"],
            &format!("file://{}", driver.display()),
        );
        let at = dom.find("data-out=\"").expect("driver did not finish") + "data-out=\"".len();
        let out = dom[at..at + dom[at..].find('"').unwrap()]
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
        let case = format!("{} {args:?}", input.file_name().unwrap().to_string_lossy());
        assert!(!out.contains("exception"), "{case}: {out}");
        if args.is_empty() {
            assert!(out.contains(r#""errors":"""#), "{case}: {out}");
        }
        // The two roots and their widest children: each in the window, with a label of
        // three characters or more in the window too.
        let frames: Vec<&str> = out.split(r#"{"ok":"#).skip(1).collect();
        assert_eq!(frames.len(), 4, "{case}: {out}");
        for (n, frame) in frames.into_iter().enumerate() {
            if n == 2 {
                assert!(
                    out.contains(r#""scrolled":true"#),
                    "{case}: the window did not scroll to the inverted graph: {out}"
                );
                assert!(
                    !args.is_empty() || out.contains(r#""button":true"#),
                    "{case}: no button to the inverted graph: {out}"
                );
            }
            assert!(
                frame.starts_with("true"),
                "{case}: a root or its widest child is off the first screen or unlabelled: \
                 {{\"ok\":{frame}\nall: {out}"
            );
        }
        // The footer ends inside the window.
        let right = &out[out.find(r#""footRight":"#).expect("footRight") + 12..];
        let right: f64 = right[..right.find([',', '}']).unwrap()].parse().unwrap();
        assert!(
            right > 100.0 && right <= 1400.0,
            "{case}: the footer ends at {right} px"
        );
    }
}

/// Issue 18: a tooltip names the frame by its label, then by pstats' full name (a
/// builtin's once); calls a sampled profile does not count are not shown as 0.
#[test]
fn tooltips_give_the_label_then_the_path_and_unknown_calls_as_unknown() {
    let Some(chrome) = chromium() else { return };
    let out = drive(&chrome, "real/pip_list.prof", LABEL_DRIVER);
    assert!(out.contains(r#""errors":"""#), "{out}");
    assert!(
        out.contains(r#""builtin":"{built-in method builtins.exec} | 100"#),
        "{out}"
    );
    assert!(
        // The dumped DOM escapes `<` and `>`.
        out.contains(
            r#""python":"&lt;module&gt; (&lt;string&gt;:1) | &lt;string&gt;:1(&lt;module&gt;) | "#
        ),
        "{out}"
    );
    // A sampled profile: pyinstrument writes -1 calls.
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("sampled.prof");
    let mut p = crate::output_hygiene::Prof::new();
    p.row(("/home/me/app/main.py", 1, "main"), (-1, -1, 1.0, 1.0), &[]);
    std::fs::write(&prof, p.bytes()).unwrap();
    let out = drive(&chrome, prof.to_str().unwrap(), LABEL_DRIVER);
    assert!(
        out.contains(r#""python":"main (main.py:1) | /home/me/app/main.py:1(main) | "#)
            && out.contains("| calls not recorded in the file"),
        "{out}"
    );
}

/// `flameprof diff -o graph.svg` in `dir`: of the generated pair of `tests/diff.rs`
/// (slower, faster, new and vanished code), or with `sides`, of two files under
/// tests/data. Returns the file's URL.
fn diff_svg_file(dir: &Path, sides: Option<[&str; 2]>) -> String {
    let path = dir.join("graph.svg");
    let out = path.to_str().unwrap();
    match sides {
        None => {
            crate::diff::write_pair(dir);
            crate::util::run_in(dir, &["diff", "-o", out, "base.prof", "new.prof"], None).ok();
        }
        Some([a, b]) => {
            let (a, b) = (data(a), data(b));
            run(&["diff", "-o", out, a.to_str().unwrap(), b.to_str().unwrap()]).ok();
        }
    }
    format!("file://{}", path.display())
}

#[test]
fn a_diff_svg_of_real_profiles_loads_without_script_errors() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = diff_svg_file(dir.path(), Some(["real/pylint.prof", "real/pip_list.prof"]));
    let dom = browse(&chrome, &["--dump-dom"], &url);
    assert_loaded(&dom);
    assert!(frame_rect(&dom, "flame", 0).contains("class=\"c"));
}

#[test]
fn a_diff_svg_restores_zoom_and_search_from_the_url() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = diff_svg_file(dir.path(), None);
    let dom = browse(&chrome, &["--dump-dom"], &format!("{url}#flame=2&s=work"));
    assert_loaded(&dom);
    assert_eq!(root_attr(&dom, "data-zoom-flame").as_deref(), Some("2"));
    let rect = frame_rect(&dom, "flame", 2);
    let view_box = attr(tag_with_id(&dom, "flame"), "viewBox").to_string();
    assert!(
        view_box.starts_with(&format!("{} 0 {} ", attr(rect, "x"), attr(rect, "width"))),
        "viewBox {view_box}, frame {rect}"
    );
    assert!(
        attr(frame_rect(&dom, "flame", 0), "class")
            .split(' ')
            .any(|c| c == "d")
    );
    // work is 2 s wide under a (its NEW side) and 1 s under b, of main's 4.2 s (the
    // larger sides of its children added up).
    assert_eq!(
        root_attr(&dom, "data-matched-flame").as_deref(),
        Some("71.43")
    );
    assert_eq!(root_attr(&dom, "data-search").as_deref(), Some("work"));
}

#[test]
fn a_diff_svg_is_driven_like_the_normal_one_and_tells_both_sides() {
    let Some(chrome) = chromium() else { return };
    let out = drive_with(&chrome, |dir| drop(diff_svg_file(dir, None)), DRIVER);
    // Flame frame 5 is gone, which NEW does not have. Inverted frame 2 is main under
    // a (a's own time, 100 ms on both sides): its details come from the inverted
    // view's rows, not the flame graph's (frame 2 there is work under a, 1 s → 2 s).
    for expected in DRIVEN.into_iter().chain([
        "before 500.000 ms \u{2192} after -: -500.000 ms (vanished)",
        "calls here 1 \u{2192} -",
        "\"details\":\"main (app.py:1) \u{b7} app.py:1(main) \u{b7} before 100.000 ms \u{2192} after 100.000 ms: 0.000 s (0.0%)",
        "self 100.000 ms \u{2192} 100.000 ms",
    ]) {
        assert!(out.contains(expected), "{expected} not in {out}");
    }
    assert!(out.contains(r#""tip":"visible|"#), "{out}");
    assert!(!out.contains(r#""dimmed":0"#), "no ancestor dimmed: {out}");
}
