//! `portolan rules --format json`: every rule the table lists, each with the same fields, so a
//! script can read the rule set without parsing the table.

mod common;

fn stdout(args: &[&str]) -> String {
    let out = common::portolan().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const KEYS: [&str; 7] = [
    "code",
    "name",
    "family",
    "default_severity",
    "summary",
    "explanation",
    "former_names",
];

#[test]
fn every_rule_of_the_table_is_in_the_json_with_every_field() {
    let table = stdout(&["rules"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&["rules", "--format", "json"]))
        .expect("rules --format json is JSON");
    let rules = json.as_array().expect("an array of rules");
    assert_eq!(rules.len(), table.lines().count());
    for (rule, line) in rules.iter().zip(table.lines()) {
        let object = rule.as_object().expect("each rule an object");
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut want = KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "{rule}");
        let text = |key: &str| {
            rule[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key}: {rule}"))
        };
        let columns: Vec<&str> = line.split_whitespace().take(3).collect();
        assert_eq!(
            columns,
            [text("code"), text("name"), text("default_severity")]
        );
        assert!(line.ends_with(text("summary")), "{line}");
        assert!(text("explanation").contains("## What it does"), "{rule}");
        assert!(!text("family").is_empty(), "{rule}");
        assert!(rule["former_names"].is_array(), "{rule}");
    }
}

#[test]
fn one_rule_is_the_same_object_as_in_the_list() {
    let all: serde_json::Value =
        serde_json::from_str(&stdout(&["rules", "--format", "json"])).unwrap();
    let by_name: serde_json::Value = serde_json::from_str(&stdout(&[
        "rules",
        "site-origin-equals-cloud-origin",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(by_name["code"], "PT303");
    assert_eq!(
        by_name["former_names"][0],
        "site-origin-equals-cloud-origin"
    );
    let listed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "PT303")
        .expect("PT303 listed");
    assert_eq!(listed, &by_name);
}
