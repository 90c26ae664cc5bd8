//! The cost model against the queries it must stop and the ones the web app
//! and dashboards send every day.

use super::*;

fn county() -> Bounds {
    let b = Bounds::default();
    for (i, n) in [1, 1, 1, 13, 312].into_iter().enumerate() {
        b.by_level[i].store(n, Ordering::Relaxed);
    }
    b.total.store(327, Ordering::Relaxed);
    b.fan_out.store(31, Ordering::Relaxed);
    b
}

fn cost_of(query: &str, vars: serde_json::Value) -> Cost {
    let types = Types::from_sdl(&crate::graphql::type_sdl());
    let doc = async_graphql::parser::parse_query(query).expect("parses");
    measure(&doc, &Variables::from_json(vars), &types, &county())
}

const LIMITS: Limits = Limits { budget: 50_000, max_depth: 12, max_aliases: 50, max_directives: 50 };

#[test]
fn nesting_regions_multiplies_instead_of_adding() {
    let three = cost_of("{ regions { children { parent { children { code } } } } }", serde_json::json!({}));
    let five = cost_of(
        "{ regions { children { parent { children { parent { children { code } } } } } } }",
        serde_json::json!({}),
    );
    assert!(three.cost > 327 * 31 * 31, "{three:?}");
    assert!(five.cost > three.cost * 30, "{five:?}"); // one more `parent { children }`: ×31
    assert!(matches!(refusal(&five, &LIMITS), Some(m) if m.key == "QUERY_TOO_COSTLY"));
    // The dashboard's per-township count is cheap: 13 townships, not 327 regions.
    let towns =
        cost_of("{ regions(level: TOWNSHIP) { code households(first: 0) { totalCount } } }", serde_json::json!({}));
    assert!(towns.cost < 100, "{towns:?}");
}

#[test]
fn fragments_are_expanded_before_counting() {
    let aliases: String = (0..30).map(|i| format!("a{i}: progress {{ households }} ")).collect();
    let q = format!("query {{ ...F ...G }} fragment F on QueryRoot {{ {aliases} }} fragment G on QueryRoot {{ ...F }}");
    let c = cost_of(&q, serde_json::json!({}));
    assert_eq!(c.aliases, 60, "{c:?}");
    assert!(matches!(refusal(&c, &LIMITS), Some(m) if m.key == "TOO_MANY_ALIASES"));
    let hours: String =
        (0..40).map(|i| format!("s{i}: progress {{ series(bucket: HOUR) {{ at submitted }} }} ")).collect();
    let c = cost_of(&format!("query {{ ...H }} fragment H on QueryRoot {{ {hours} }}"), serde_json::json!({}));
    assert!(matches!(refusal(&c, &LIMITS), Some(m) if m.key == "QUERY_TOO_COSTLY"), "{c:?}");
    let dirs: String = (0..200).map(|_| "@include(if: true) ").collect();
    let c = cost_of(&format!("{{ me {dirs} {{ id }} }}"), serde_json::json!({}));
    assert!(matches!(refusal(&c, &LIMITS), Some(m) if m.key == "TOO_MANY_DIRECTIVES"));
}

#[test]
fn connections_multiply_by_first_and_variables_count() {
    let q = "query($n: Int!) { households(first: $n) { nodes { code village { name } } } }";
    let ten = cost_of(q, serde_json::json!({ "n": 10 }));
    let five_hundred = cost_of(q, serde_json::json!({ "n": 500 }));
    assert!(five_hundred.cost > ten.cost * 40, "{ten:?} {five_hundred:?}");
}

/// The standard introspection query of graphql-js passes; a hostile one does not.
#[test]
fn standard_introspection_passes_and_nested_member_lists_do_not() {
    let c = cost_of(include_str!("introspection.graphql"), serde_json::json!({}));
    assert_eq!(refusal(&c, &LIMITS).map(|m| m.key), None, "{c:?}");
    let hostile = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let c = cost_of(hostile, serde_json::json!({}));
    assert!(matches!(refusal(&c, &LIMITS), Some(m) if m.key == "INTROSPECTION_TOO_NESTED"));
}

/// Every operation the web app ships fits the default budget with the
/// largest pages it asks for.
#[test]
fn every_web_operation_fits_the_budget() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/graphql");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("web/graphql") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let c = cost_of(&text, serde_json::json!({ "first": 500 }));
        assert_eq!(refusal(&c, &LIMITS).map(|m| m.key), None, "{}: {c:?}", path.display());
        n += 1;
    }
    assert!(n > 20, "{n} operations");
}
