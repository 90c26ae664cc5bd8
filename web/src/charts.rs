//! Charts as inline SVG (no chart library: it would cost more than the app).

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub const BLUE: &str = "#0b6bcb";
pub const GREEN: &str = "#1a7f37";
pub const GREY: &str = "#9aa5b1";

/// Horizontal bars, two per row (e.g. submitted and approved percent), 0–100.
pub fn bars(title: &str, rows: &[(String, f64, f64)], a: &str, b: &str) -> String {
    let row_h = 30.0;
    let (left, width) = (110.0, 360.0);
    let h = rows.len() as f64 * row_h + 24.0;
    let mut s = format!(
        r##"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"##,
        w = left + width + 50.0,
        t = esc(title)
    );
    for x in [0.0, 50.0, 100.0] {
        let px = left + width * x / 100.0;
        s += &format!(
            r##"<line x1="{px}" x2="{px}" y1="0" y2="{}" stroke="#d9dee4"/><text x="{px}" y="{}" font-size="10" text-anchor="middle" fill="#5b6675">{x}%</text>"##,
            h - 16.0,
            h - 4.0
        );
    }
    for (i, (name, va, vb)) in rows.iter().enumerate() {
        let y = i as f64 * row_h;
        s += &format!(
            r##"<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#1c2430">{}</text>"##,
            left - 6.0,
            y + 17.0,
            esc(name)
        );
        s += &format!(
            r##"<rect x="{left}" y="{}" width="{:.1}" height="10" fill="{a}"><title>{:.1}%</title></rect>"##,
            y + 4.0,
            width * va.clamp(0.0, 100.0) / 100.0,
            va
        );
        s += &format!(
            r##"<rect x="{left}" y="{}" width="{:.1}" height="10" fill="{b}"><title>{:.1}%</title></rect>"##,
            y + 15.0,
            width * vb.clamp(0.0, 100.0) / 100.0,
            vb
        );
        s += &format!(
            r##"<text x="{}" y="{}" font-size="10" fill="#5b6675">{:.0}%</text>"##,
            left + width + 4.0,
            y + 17.0,
            va
        );
    }
    s + "</svg>"
}

/// Cumulative lines over time against a straight planned line.
/// Points are (time ms, submitted, approved); `plan` is ((t0, v0), (t1, v1)).
pub fn burn_up(title: &str, points: &[(f64, f64, f64)], plan: Option<((f64, f64), (f64, f64))>, total: f64) -> String {
    let (w, h, pad) = (480.0, 220.0, 34.0);
    let mut t0 = points.first().map(|p| p.0).unwrap_or(0.0);
    let mut t1 = points.last().map(|p| p.0).unwrap_or(1.0);
    if let Some(((a, _), (b, _))) = plan {
        t0 = t0.min(a);
        t1 = t1.max(b);
    }
    if t1 <= t0 {
        t1 = t0 + 86_400_000.0;
    }
    let total = total.max(1.0);
    let x = |t: f64| pad + (w - pad - 8.0) * (t - t0) / (t1 - t0);
    let y = |v: f64| h - pad + 10.0 - (h - pad) * (v / total).clamp(0.0, 1.0);
    let mut s =
        format!(r##"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"##, t = esc(title));
    for f in [0.0, 0.5, 1.0] {
        s += &format!(
            r##"<line x1="{pad}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d9dee4"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6675">{:.0}</text>"##,
            w - 8.0,
            pad - 4.0,
            y(total * f) + 3.0,
            total * f,
            y = y(total * f)
        );
    }
    // Dates on the time axis: first day, middle, last day.
    for f in [0.0, 0.5, 1.0] {
        let at = t0 + (t1 - t0) * f;
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at));
        let anchor = if f == 0.0 {
            "start"
        } else if f == 1.0 {
            "end"
        } else {
            "middle"
        };
        s += &format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="{anchor}" fill="#5b6675">{}-{:02}</text>"##,
            x(at),
            h - 4.0,
            d.get_month() + 1,
            d.get_date()
        );
    }
    if let Some(((a, va), (b, vb))) = plan {
        s += &format!(
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{GREY}" stroke-dasharray="5 4" stroke-width="2"/>"##,
            x(a),
            y(va),
            x(b),
            y(vb)
        );
    }
    // One day of data is still a line: the day's value across that day.
    let mut points = points.to_vec();
    if let [only] = points.as_slice() {
        points.push((only.0 + 86_400_000.0, only.1, only.2));
    }
    for (idx, color) in [(1usize, BLUE), (2usize, GREEN)] {
        let pts: Vec<String> =
            points.iter().map(|p| format!("{:.1},{:.1}", x(p.0), y(if idx == 1 { p.1 } else { p.2 }))).collect();
        if !pts.is_empty() {
            s += &format!(
                r##"<polyline class="actual" fill="none" stroke="{color}" stroke-width="2.5" points="{}"/>"##,
                pts.join(" ")
            );
        }
    }
    s + "</svg>"
}
