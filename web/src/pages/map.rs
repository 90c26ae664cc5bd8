//! The villages of a county or township on a map, coloured by how much of each
//! is approved: drawn as SVG from the villages' own coordinates (a village
//! office's network cannot reach a tile server); tapping a village opens its
//! board. The same points download as GeoJSON for GIS users.

use crate::gql::{self, village_map as q, RegionLevel};
use crate::i18n::t;
use crate::state::{ctx, enc};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// One village with a position: id, name, longitude, latitude, approved %, households.
#[derive(Clone, Debug, PartialEq)]
struct Point {
    id: String,
    name: String,
    lon: f64,
    lat: f64,
    approved: f64,
    households: i64,
}

fn villages(d: q::ResponseData) -> Vec<Point> {
    let Some(r) = d.region else { return Vec::new() };
    let mut out = Vec::new();
    let mut add = |id: &str, name: &str, lat: Option<f64>, lon: Option<f64>, approved: f64, n: i64| {
        if let (Some(lat), Some(lon)) = (lat, lon) {
            out.push(Point { id: id.to_owned(), name: name.to_owned(), lon, lat, approved, households: n });
        }
    };
    for c in r.children {
        if c.level == RegionLevel::VILLAGE {
            add(&c.id, &c.name, c.latitude, c.longitude, c.progress.approved_percent, c.progress.households);
        }
        for v in c.children.iter().filter(|v| v.level == RegionLevel::VILLAGE) {
            add(&v.id, &v.name, v.latitude, v.longitude, v.progress.approved_percent, v.progress.households);
        }
    }
    out
}

/// Red under a third approved, amber under two thirds, then light and full green.
fn colour(p: f64) -> &'static str {
    match p {
        p if p < 33.3 => "#c62828",
        p if p < 66.6 => "#b26a00",
        p if p < 100.0 => "#5aa469",
        _ => "#146c2e",
    }
}

/// The SVG: an equirectangular projection of the villages' box, north up.
fn svg(points: &[Point], title: &str) -> String {
    let (w, h, pad) = (480.0, 360.0, 14.0);
    let (lo0, lo1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.lon), b.max(p.lon)));
    let (la0, la1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.lat), b.max(p.lat)));
    let k = ((la0 + la1) / 2.0).to_radians().cos().max(0.1);
    let (dx, dy) = (((lo1 - lo0) * k).max(1e-6), (la1 - la0).max(1e-6));
    let scale = ((w - 2.0 * pad) / dx).min((h - 2.0 * pad) / dy);
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
    let mut s =
        format!(r##"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{}"><title>{}</title>"##, esc(title), esc(title));
    s += &format!(r##"<rect width="{w}" height="{h}" fill="#eef2f6" rx="8"/>"##);
    for p in points {
        let x = pad + (p.lon - lo0) * k * scale;
        let y = h - pad - (p.lat - la0) * scale;
        s += &format!(
            r##"<circle class="village" data-region="{}" cx="{x:.1}" cy="{y:.1}" r="6" fill="{}" stroke="#fff" stroke-width="1.5"><title>{} {:.0}%</title></circle>"##,
            esc(&p.id),
            colour(p.approved),
            esc(&p.name),
            p.approved
        );
    }
    s + "</svg>"
}

/// The same villages as a GeoJSON FeatureCollection (points, WGS84).
fn geojson(points: &[Point]) -> String {
    let features: Vec<serde_json::Value> = points
        .iter()
        .map(|p| {
            serde_json::json!({ "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [p.lon, p.lat] },
                "properties": { "name": p.name, "households": p.households, "approvedPercent": p.approved } })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string()
}

#[component]
pub fn VillageMap(region: String) -> impl IntoView {
    let c = ctx();
    let region = StoredValue::new(region);
    let data = LocalResource::new(move || gql::call::<gql::VillageMap>(q::Variables { region_id: region.get_value() }));
    // A tap on a village (a circle inside the drawn SVG) opens its board.
    let on_tap = move |ev: leptos::ev::MouseEvent| {
        let target = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
        if let Some(id) = target.and_then(|el| el.get_attribute("data-region")) {
            c.go(&format!("/board/{}", enc(&id)));
        }
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let points = data.await.map(villages).unwrap_or_default();
                (!points.is_empty()).then(|| {
                    let href = blob_url(&geojson(&points));
                    view! {
                        <div class="card chart" id="village-map">
                            <h3>{move || t("map")}</h3>
                            <div class="map" on:click=on_tap inner_html=svg(&points, t("map"))></div>
                            <div class="legend">
                                {[("#c62828", "< 33%"), ("#b26a00", "< 67%"), ("#5aa469", "< 100%"), ("#146c2e", "100%")].into_iter().map(|(c, l)| view! { <span><i style=format!("background:{c}")></i>{l}</span> }).collect_view()}
                                <a id="map-geojson" href=href download="villages.geojson">{move || t("download_geojson")}</a>
                            </div>
                        </div>
                    }
                })
            })}
        </Suspense>
    }
}

/// A download link's address for text made here.
fn blob_url(text: &str) -> String {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/geo+json");
    web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)
        .ok()
        .and_then(|b| web_sys::Url::create_object_url_with_blob(&b).ok())
        .unwrap_or_default()
}
