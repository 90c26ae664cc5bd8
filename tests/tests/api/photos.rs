//! Issue 5: photos on the local store and on a real S3 server (s3s-fs, which
//! checks signatures): upload and confirm, refusals that leave nothing behind,
//! the sweeper, links, EXIF, duplicates and quality hints.

use crate::workflow::households_with_verifiers;
use serde_json::{json, Value};
use sha2::Digest;
use tests::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Store {
    Local,
    S3,
}

async fn app_for(store: Store) -> TestApp {
    match store {
        Store::Local => TestApp::demo().await,
        Store::S3 => TestApp::demo_s3().await,
    }
}

const HOUSEHOLD_PHOTOS: &str = "query($id: ID!) { household(id: $id) { photos { id url thumbnailUrl sha256 width height takenAt latitude longitude perceptualHash } findings { rule severity } } }";

async fn object_exists(app: &TestApp, key: &str) -> bool {
    use object_store::ObjectStoreExt;
    app.server.state.storage.store.head(&object_store::path::Path::from(key)).await.is_ok()
}

async fn ticket_key(app: &TestApp, ticket: &str) -> String {
    let id = ticket.trim_start_matches("PhotoUpload:");
    let sql = format!("SELECT COUNT(*) FROM photo_uploads WHERE object_key LIKE '%{id}%'");
    assert_eq!(app.count(&sql).await, 1, "ticket row exists");
    // campaign/household/ticket.ext
    let db = &app.server.state.db;
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT object_key FROM photo_uploads WHERE object_key LIKE '%{id}%'"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

async fn setup(store: Store) -> (TestApp, String, Vec<(String, String)>) {
    let app = app_for(store).await;
    let admin = app.token("admin").await;
    let pool = households_with_verifiers(&app, &admin, "131126100000", "APPRAISED").await;
    (app, admin, pool)
}

#[tokio::test]
async fn upload_confirm_and_download_on_both_stores() {
    for store in [Store::Local, Store::S3] {
        let (app, _admin, pool) = setup(store).await;
        let (h, who) = &pool[0];
        let v = app.token(who).await;
        let bytes = jpeg(640, 480, 1);
        let (ticket, status) = app.put_photo(&v, h, &bytes, "image/jpeg", false).await;
        assert_eq!(status, 200, "{store:?} PUT");
        // Confirmed twice at once (a phone resending while the first is still
        // running), then once more later: one photo, and the others are told
        // it was confirmed, so the phone knows not to upload it again.
        let confirm = || app.gql(Some(&v), CONFIRM_UPLOAD, json!({ "t": ticket }));
        let (a, b) = tokio::join!(confirm(), confirm());
        let later = confirm().await;
        let (ok, told): (Vec<&Value>, Vec<&Value>) = [&a, &b, &later].into_iter().partition(|r| r["errors"].is_null());
        assert_eq!(ok.len(), 1, "{store:?}: one confirmation records the photo: {a} {b}");
        for r in told {
            assert_eq!(code(r), Some("CONFLICT"), "{store:?}: {r}");
            assert_eq!(r["errors"][0]["extensions"]["reason"], "UPLOAD_CONFIRMED", "{store:?}: {r}");
        }
        let photo = ok[0]["data"]["confirmPhotoUpload"].clone();
        assert_eq!(photo["width"], 640);
        let d = app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await;
        assert_eq!(d["household"]["photos"].as_array().unwrap().len(), 1, "{store:?}: {d}");
        let p = &d["household"]["photos"][0];
        let url = p["url"].as_str().unwrap();
        if store == Store::S3 {
            assert!(
                url.starts_with(&std::env::var("TEST_S3_ENDPOINT").unwrap()),
                "presigned, straight from the bucket: {url}"
            );
        }
        let got = app.http.get(url).send().await.unwrap();
        assert_eq!(got.status().as_u16(), 200, "{store:?} download");
        let body = got.bytes().await.unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&body)), p["sha256"].as_str().unwrap());
        let thumb = app.http.get(p["thumbnailUrl"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        let t = image::load_from_memory(&thumb).expect("thumbnail is an image");
        assert_eq!(t.width(), 320);
    }
}

/// A PNG that claims 30000×30000 pixels (900 megapixels) in a tiny file.
fn bomb_png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(8, 8).write_to(&mut out, image::ImageFormat::Png).unwrap();
    let mut b = out.into_inner();
    // IHDR data starts at byte 16: width, height (big-endian), then its CRC over type+data at 29..33.
    b[16..20].copy_from_slice(&30000u32.to_be_bytes());
    b[20..24].copy_from_slice(&30000u32.to_be_bytes());
    let crc = crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &byte in data {
        c ^= byte as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

#[tokio::test]
async fn refused_uploads_leave_no_row_and_no_object() {
    for store in [Store::Local, Store::S3] {
        let (app, _admin, pool) = setup(store).await;
        let (h, who) = &pool[0];
        let v = app.token(who).await;
        let good = jpeg(640, 480, 2);
        let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("not an image", b"this is not a photo at all".repeat(20), "image/jpeg"),
            ("truncated JPEG", good[..good.len() / 2].to_vec(), "image/jpeg"),
            ("decompression bomb", bomb_png(), "image/png"),
        ];
        // Declared PNG, sent a JPEG (with the declared content type).
        cases.push(("wrong content type", good.clone(), "image/png"));
        for (name, bytes, ct) in cases {
            let (ticket, status) = app.put_photo(&v, h, &bytes, ct, false).await;
            assert_eq!(status, 200, "{store:?} {name}: the bytes arrive, validation comes at confirm");
            let key = ticket_key(&app, &ticket).await;
            assert!(object_exists(&app, &key).await);
            let r = app.gql(Some(&v), CONFIRM_UPLOAD, json!({ "t": ticket })).await;
            assert_eq!(code(&r), Some("VALIDATION"), "{store:?} {name}: {r}");
            assert!(!object_exists(&app, &key).await, "{store:?} {name}: the object is gone");
        }
        // Too large: refused when asked, and a body longer than granted is refused on the way in.
        let big = app
            .gql(
                Some(&v),
                REQUEST_UPLOAD,
                json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": 16 * 1024 * 1024 }),
            )
            .await;
        assert_eq!(code(&big), Some("VALIDATION"));
        let d = app
            .ok(Some(&v), REQUEST_UPLOAD, json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": 1000 }))
            .await;
        let url = d["requestPhotoUpload"]["uploadUrl"].as_str().unwrap().to_owned();
        let mut put = app.http.put(&url).header("content-type", "image/jpeg").body(good.clone());
        if store == Store::Local {
            put = put.bearer_auth(&v);
        }
        let status = put.send().await.unwrap().status().as_u16();
        if store == Store::Local {
            assert!((400..500).contains(&status), "{store:?}: longer body than granted → {status}");
        } else {
            // S3 accepts the bytes (a presigned PUT cannot bind the length); confirmation refuses them.
            assert_eq!(status, 200);
            let t = d["requestPhotoUpload"]["id"].as_str().unwrap().to_owned();
            let key = ticket_key(&app, &t).await;
            let r = app.gql(Some(&v), CONFIRM_UPLOAD, json!({ "t": t })).await;
            assert_eq!(code(&r), Some("VALIDATION"), "{r}");
            assert!(!object_exists(&app, &key).await, "the oversized object is gone");
        }
        // Another content type than granted.
        let d = app
            .ok(Some(&v), REQUEST_UPLOAD, json!({ "h": h, "k": "FRONT_PANORAMA", "ct": "image/jpeg", "n": good.len() }))
            .await;
        let url = d["requestPhotoUpload"]["uploadUrl"].as_str().unwrap().to_owned();
        let mut put = app.http.put(&url).header("content-type", "image/png").body(good.clone());
        if store == Store::Local {
            put = put.bearer_auth(&v);
        }
        let status = put.send().await.unwrap().status().as_u16();
        assert!((400..500).contains(&status), "{store:?}: other content type → {status}");
        // A key that was not granted.
        let forged = match store {
            Store::S3 => url.replacen(".jpg", "-other.jpg", 1),
            Store::Local => format!("{}/uploads/{}", app.base, uuid::Uuid::new_v4()),
        };
        let mut put = app.http.put(&forged).header("content-type", "image/jpeg").body(good.clone());
        if store == Store::Local {
            put = put.bearer_auth(&v);
        }
        let status = put.send().await.unwrap().status().as_u16();
        assert!((400..500).contains(&status), "{store:?}: key not granted → {status}");
        let d = app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await;
        assert_eq!(d["household"]["photos"], json!([]), "{store:?}: no photo recorded");
        assert_eq!(app.count("SELECT COUNT(*) FROM photos").await, 0);
    }
}

#[tokio::test]
async fn the_sweeper_removes_unconfirmed_uploads_only() {
    for store in [Store::Local, Store::S3] {
        let (app, _admin, pool) = setup(store).await;
        let (h, who) = &pool[0];
        let v = app.token(who).await;
        let kept = app.upload_photo(&v, h, 3, false).await;
        let (orphan, _) = app.put_photo(&v, h, &jpeg(640, 480, 4), "image/jpeg", false).await;
        let key = ticket_key(&app, &orphan).await;
        // Not yet expired: the sweeper leaves it.
        assert_eq!(api::domain::photos::sweep(&app.server.state, chrono::Duration::zero()).await.unwrap(), 0);
        use sea_orm::ConnectionTrait;
        app.server
            .state
            .db
            .execute_unprepared("UPDATE photo_uploads SET expires_at = '2020-01-01 00:00:00+00:00'")
            .await
            .unwrap();
        assert_eq!(api::domain::photos::sweep(&app.server.state, chrono::Duration::zero()).await.unwrap(), 1);
        assert!(!object_exists(&app, &key).await, "{store:?}: orphan removed");
        assert_eq!(app.count("SELECT COUNT(*) FROM photo_uploads").await, 0);
        let d = app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await;
        assert_eq!(d["household"]["photos"][0]["id"], kept["id"], "{store:?}: the recorded photo stays");
        let url = d["household"]["photos"][0]["url"].as_str().unwrap();
        assert_eq!(app.http.get(url).send().await.unwrap().status().as_u16(), 200);
    }
}

#[tokio::test]
async fn photo_links_are_signed_expiring_and_only_for_the_region() {
    for store in [Store::Local, Store::S3] {
        let (app, admin, pool) = setup(store).await;
        let (h, who) = &pool[0];
        let v = app.token(who).await;
        let p = app.upload_photo(&v, h, 5, false).await;
        let d = app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await;
        let url = d["household"]["photos"][0]["url"].as_str().unwrap().to_owned();
        // Tampered signature.
        let tampered = if let Some(i) = url.rfind("sig=") {
            let mut u = url.clone();
            let c = if &u[i + 4..i + 5] == "a" { "b" } else { "a" };
            u.replace_range(i + 4..i + 5, c);
            u
        } else {
            let i = url.find("X-Amz-Signature=").expect("signature") + 16;
            let mut u = url.clone();
            let c = if &u[i..i + 1] == "a" { "b" } else { "a" };
            u.replace_range(i..i + 1, c);
            u
        };
        assert_eq!(app.http.get(&tampered).send().await.unwrap().status().as_u16(), 403, "{store:?} tampered");
        // Expired.
        let expired = match store {
            Store::Local => {
                let id = p["id"].as_str().unwrap().trim_start_matches("Photo:");
                let exp = chrono::Utc::now().timestamp() - 5;
                let sig = app.server.state.jwt.mac(&format!("{id}|file|{exp}"));
                format!("{}/photos/{id}/file?exp={exp}&sig={sig}", app.base)
            }
            Store::S3 => {
                let db = &app.server.state.db;
                use sea_orm::{ConnectionTrait, Statement};
                let row = db
                    .query_one(Statement::from_string(
                        db.get_database_backend(),
                        "SELECT object_key FROM photos".to_owned(),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                let key: String = row.try_get_by_index(0).unwrap();
                let u = app
                    .server
                    .state
                    .storage
                    .presigned_get(&key, std::time::Duration::from_secs(1))
                    .await
                    .unwrap()
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                u
            }
        };
        assert_eq!(app.http.get(&expired).send().await.unwrap().status().as_u16(), 403, "{store:?} expired");
        // Another village's verifier cannot get a link at all.
        let other = app.token("v131126101200").await;
        assert_eq!(code(&app.gql(Some(&other), HOUSEHOLD_PHOTOS, json!({ "id": h })).await), Some("NOT_FOUND"));
        let _ = admin;
    }
}

/// Inserts an EXIF block (capture time and GPS) into a JPEG, as a camera writes it.
fn with_exif(jpeg: &[u8], when: &str, lat: f64, lon: f64) -> Vec<u8> {
    let mut t: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    let be16 = |v: u16| v.to_be_bytes().to_vec();
    let be32 = |v: u32| v.to_be_bytes().to_vec();
    let entry = |tag: u16, typ: u16, count: u32, value: u32| [be16(tag), be16(typ), be32(count), be32(value)].concat();
    // IFD0 at 8: 2 entries → ends at 8 + 2 + 24 + 4 = 38. Exif IFD at 38: 1 entry → 38 + 18 = 56.
    // GPS IFD at 56: 4 entries → 56 + 2 + 48 + 4 = 110. Data after 110.
    let dt_off = 110u32;
    let lat_off = dt_off + 20;
    let lon_off = lat_off + 24;
    t.extend(be16(2));
    t.extend(entry(0x8769, 4, 1, 38));
    t.extend(entry(0x8825, 4, 1, 56));
    t.extend(be32(0));
    t.extend(be16(1));
    t.extend(entry(0x9003, 2, 20, dt_off));
    t.extend(be32(0));
    t.extend(be16(4));
    t.extend(entry(0x0001, 2, 2, u32::from_be_bytes([if lat >= 0.0 { b'N' } else { b'S' }, 0, 0, 0])));
    t.extend(entry(0x0002, 5, 3, lat_off));
    t.extend(entry(0x0003, 2, 2, u32::from_be_bytes([if lon >= 0.0 { b'E' } else { b'W' }, 0, 0, 0])));
    t.extend(entry(0x0004, 5, 3, lon_off));
    t.extend(be32(0));
    assert_eq!(t.len(), 110);
    let mut dt = when.as_bytes().to_vec();
    dt.resize(20, 0);
    t.extend(dt);
    for v in [lat.abs(), lon.abs()] {
        let d = v.trunc();
        let m = ((v - d) * 60.0).trunc();
        let s = ((v - d) * 60.0 - m) * 60.0;
        for (num, den) in [(d as u32, 1u32), (m as u32, 1), ((s * 1000.0).round() as u32, 1000)] {
            t.extend(be32(num));
            t.extend(be32(den));
        }
    }
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(t);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

async fn upload_bytes(app: &TestApp, token: &str, h: &str, bytes: &[u8]) -> Value {
    let (ticket, status) = app.put_photo(token, h, bytes, "image/jpeg", false).await;
    assert_eq!(status, 200);
    app.ok(Some(token), CONFIRM_UPLOAD, json!({ "t": ticket })).await["confirmPhotoUpload"].clone()
}

fn rules(d: &Value) -> Vec<String> {
    d["household"]["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn exif_time_and_position_are_read_and_checked() {
    let (app, admin, pool) = setup(Store::Local).await;
    let (h, who) = &pool[0];
    let v = app.token(who).await;
    // Where is the household's village?
    let d = app
        .ok(
            Some(&admin),
            "query($id: ID!) { household(id: $id) { village { latitude longitude } } }",
            json!({ "id": h }),
        )
        .await;
    let (lat, lon) = (
        d["household"]["village"]["latitude"].as_f64().unwrap(),
        d["household"]["village"]["longitude"].as_f64().unwrap(),
    );
    // Taken on site, during the campaign (May 16 2020, 10:30 China time).
    upload_bytes(&app, &v, h, &with_exif(&jpeg(640, 480, 6), "2020:05:16 10:30:00", lat + 0.001, lon)).await;
    let d = app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await;
    let p = &d["household"]["photos"][0];
    assert_eq!(p["takenAt"], "2020-05-16T02:30:00+00:00");
    assert!((p["latitude"].as_f64().unwrap() - (lat + 0.001)).abs() < 1e-4);
    assert!((p["longitude"].as_f64().unwrap() - lon).abs() < 1e-4);
    let r = rules(&d);
    assert!(!r.contains(&"PHOTO_FAR".to_string()) && !r.contains(&"PHOTO_OUTSIDE_CAMPAIGN".to_string()), "{r:?}");
    // Another household: taken in 2019, 20 km away.
    let (h2, who2) = pool.iter().find(|(_, w)| w == who).map(|_| pool[1].clone()).unwrap();
    let v2 = app.token(&who2).await;
    upload_bytes(&app, &v2, &h2, &with_exif(&jpeg(640, 480, 7), "2019:11:02 08:00:00", lat + 0.18, lon)).await;
    let r = rules(&app.ok(Some(&v2), HOUSEHOLD_PHOTOS, json!({ "id": h2 })).await);
    assert!(r.contains(&"PHOTO_FAR".to_string()) && r.contains(&"PHOTO_OUTSIDE_CAMPAIGN".to_string()), "{r:?}");

    // A photo without a position: the position recorded with the entry counts instead.
    let (h3, who3) = pool[2].clone();
    let v3 = app.token(&who3).await;
    upload_bytes(&app, &v3, &h3, &jpeg(640, 480, 9)).await;
    let far = |version: i64, lat: f64| {
        let mut i = crate::workflow::appraised_input(&h3, version, false);
        i["latitude"] = json!(lat);
        i["longitude"] = json!(lon);
        i
    };
    app.ok(Some(&v3), crate::workflow::SAVE, json!({ "i": far(0, lat + 0.18) })).await;
    let r = rules(&app.ok(Some(&v3), HOUSEHOLD_PHOTOS, json!({ "id": h3 })).await);
    assert!(r.contains(&"PHOTO_FAR".to_string()), "recorded 20 km away: {r:?}");
    app.ok(Some(&v3), crate::workflow::SAVE, json!({ "i": far(1, lat + 0.001) })).await;
    let r = rules(&app.ok(Some(&v3), HOUSEHOLD_PHOTOS, json!({ "id": h3 })).await);
    assert!(!r.contains(&"PHOTO_FAR".to_string()), "recorded on site: {r:?}");
}

#[tokio::test]
async fn the_same_or_a_near_identical_photo_on_two_households_is_flagged() {
    let (app, _admin, pool) = setup(Store::Local).await;
    let tokens: Vec<String> = {
        let mut t = Vec::new();
        for (_, who) in pool.iter().take(4) {
            t.push(app.token(who).await);
        }
        t
    };
    let original = jpeg(640, 480, 8);
    upload_bytes(&app, &tokens[0], &pool[0].0, &original).await;
    // The very same file on a second household.
    upload_bytes(&app, &tokens[1], &pool[1].0, &original).await;
    let r = rules(&app.ok(Some(&tokens[1]), HOUSEHOLD_PHOTOS, json!({ "id": pool[1].0 })).await);
    assert!(r.contains(&"PHOTO_DUPLICATE".to_string()), "{r:?}");
    // Resized and re-compressed on a third.
    let smaller = image::load_from_memory(&original).unwrap().resize(600, 450, image::imageops::FilterType::Triangle);
    let mut out = std::io::Cursor::new(Vec::new());
    smaller.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    upload_bytes(&app, &tokens[2], &pool[2].0, &out.into_inner()).await;
    let r = rules(&app.ok(Some(&tokens[2]), HOUSEHOLD_PHOTOS, json!({ "id": pool[2].0 })).await);
    assert!(r.contains(&"PHOTO_DUPLICATE".to_string()), "near duplicate: {r:?}");
    // A different photo stays silent.
    upload_bytes(&app, &tokens[3], &pool[3].0, &jpeg(640, 480, 9)).await;
    let r = rules(&app.ok(Some(&tokens[3]), HOUSEHOLD_PHOTOS, json!({ "id": pool[3].0 })).await);
    assert!(!r.iter().any(|x| x.starts_with("PHOTO_")), "{r:?}");
}

#[tokio::test]
async fn quality_hints_reach_the_verifier_at_once() {
    let (app, _admin, pool) = setup(Store::Local).await;
    let encode = |img: image::RgbImage| {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
    let dark = encode(image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([((x ^ y) % 20) as u8, 10, 10])));
    let blurred = encode(image::RgbImage::from_fn(640, 480, |x, _| image::Rgb([(x / 3) as u8, 120, 120])));
    let tiny = jpeg(160, 120, 10);
    for (i, (bytes, rule)) in
        [(dark, "PHOTO_DARK"), (blurred, "PHOTO_BLURRED"), (tiny, "PHOTO_TOO_SMALL")].into_iter().enumerate()
    {
        let (h, who) = &pool[i];
        let v = app.token(who).await;
        upload_bytes(&app, &v, h, &bytes).await;
        let d = app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await;
        let f = d["household"]["findings"].as_array().unwrap().iter().find(|f| f["rule"] == rule).cloned();
        assert!(f.is_some_and(|f| f["severity"] == "WARNING"), "{rule}: {d:#}");
    }
    // A good photo raises none of them.
    let (h, who) = &pool[3];
    let v = app.token(who).await;
    upload_bytes(&app, &v, h, &jpeg(640, 480, 11)).await;
    let r = rules(&app.ok(Some(&v), HOUSEHOLD_PHOTOS, json!({ "id": h })).await);
    assert!(!r.iter().any(|x| x.starts_with("PHOTO_")), "{r:?}");
}

/// EXIF as some phones write it: little-endian, sub-IFDs without the
/// next-IFD field, the GPS pointer inside the EXIF IFD, orientation 6.
fn phone_exif(jpeg: &[u8], when: &str, lat: f64, lon: f64) -> Vec<u8> {
    let le16 = |v: u16| v.to_le_bytes().to_vec();
    let le32 = |v: u32| v.to_le_bytes().to_vec();
    let entry = |tag: u16, typ: u16, count: u32, value: Vec<u8>| [le16(tag), le16(typ), le32(count), value].concat();
    let mut t: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    t.extend(le16(2));
    t.extend(entry(0x0112, 3, 1, [le16(6), vec![0, 0]].concat()));
    t.extend(entry(0x8769, 4, 1, le32(38)));
    t.extend(le32(0));
    t.extend(le16(2)); // EXIF IFD at 38, no next-IFD field: ends at 64
    t.extend(entry(0x9003, 2, 20, le32(114)));
    t.extend(entry(0x8825, 4, 1, le32(64)));
    t.extend(le16(4)); // GPS IFD at 64, no next-IFD field: ends at 114
    t.extend(entry(1, 2, 2, vec![b'N', 0, 0, 0]));
    t.extend(entry(2, 5, 3, le32(134)));
    t.extend(entry(3, 2, 2, vec![b'E', 0, 0, 0]));
    t.extend(entry(4, 5, 3, le32(158)));
    assert_eq!(t.len(), 114);
    let mut dt = when.as_bytes().to_vec();
    dt.resize(20, 0);
    t.extend(dt);
    for v in [lat, lon] {
        for (num, den) in [(v.trunc() as u32, 1u32), (0, 1), (((v - v.trunc()) * 3600.0 * 1000.0).round() as u32, 1000)]
        {
            t.extend(le32(num));
            t.extend(le32(den));
        }
    }
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(t);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

const PHOTO_DETAIL: &str =
    "query($id: ID!) { household(id: $id) { photos { takenAt latitude longitude thumbnailUrl } } }";

#[tokio::test]
async fn phone_exif_layouts_orientation_and_transparency_are_handled() {
    let (app, _admin, pool) = setup(Store::Local).await;
    let (h, who) = &pool[0];
    let v = app.token(who).await;
    upload_bytes(&app, &v, h, &phone_exif(&jpeg(640, 480, 31), "2020:05:16 10:30:00", 37.5, 115.75)).await;
    let d = app.ok(Some(&v), PHOTO_DETAIL, json!({ "id": h })).await;
    let p = &d["household"]["photos"][0];
    assert_eq!(p["takenAt"], "2020-05-16T02:30:00+00:00", "read despite the missing next-IFD fields");
    assert!((p["latitude"].as_f64().unwrap() - 37.5).abs() < 1e-4, "{p}");
    assert!((p["longitude"].as_f64().unwrap() - 115.75).abs() < 1e-4, "{p}");
    let thumb = app.http.get(p["thumbnailUrl"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    let t = image::load_from_memory(&thumb).unwrap();
    assert!(t.height() > t.width(), "orientation 6 turns the 640×480 photo upright: {}×{}", t.width(), t.height());

    // A PNG whose background is transparent: white in the thumbnail, not black.
    let (h2, who2) = &pool[1];
    let v2 = app.token(who2).await;
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_fn(400, 300, |x, _| image::Rgba([200, 30, 30, if x < 200 { 0 } else { 255 }]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let (ticket, status) = app.put_photo(&v2, h2, png.get_ref(), "image/png", false).await;
    assert_eq!(status, 200);
    app.ok(Some(&v2), CONFIRM_UPLOAD, json!({ "t": ticket })).await;
    let d = app.ok(Some(&v2), PHOTO_DETAIL, json!({ "id": h2 })).await;
    let thumb = app.http.get(d["household"]["photos"][0]["thumbnailUrl"].as_str().unwrap()).send().await.unwrap();
    let t = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap().to_rgb8();
    let clear = t.get_pixel(10, t.height() / 2);
    assert!(clear.0.iter().all(|c| *c > 230), "transparent part is white: {clear:?}");
    let solid = t.get_pixel(t.width() - 10, t.height() / 2);
    assert!(solid[0] > 150 && solid[1] < 90, "the opaque part keeps its colour: {solid:?}");
}
